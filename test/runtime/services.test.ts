// Loaded models live in an executor's services, not in modules: executors that share services share
// them, and every other executor (another test, a worker) loads its own.
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import { Executor } from '../../runtime/executor.ts';
import type { Services } from '../../runtime/node.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

const load = graph([{ id: 'load', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } }]);

describe('executor services', () => {
  it('hold the built-in SD models a run loaded, for that executor only', async () => {
    const data = tempData();
    const registry = createRegistry();
    const services: Services = {};
    const model = async (ex: Executor) => {
      const r = await ex.run(load);
      expect(r.status, r.failures[0]?.message).toBe('finished');
      return r.outputs.get('load')!.model;
    };
    const first = await model(new Executor({ registry, data, services }));
    expect(services.sdBuiltins?.size).toBe(1);
    // Another output cache, the same services: the same loaded model.
    expect(await model(new Executor({ registry, data, services }))).toBe(first);
    // An executor of its own loads its own.
    const own = new Executor({ registry, data });
    expect(await model(own)).not.toBe(first);
    expect(own.services.sdBuiltins?.size).toBe(1);
  });
});
