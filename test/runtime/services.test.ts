// Loaded models live in an executor's services, not in modules: executors that share services share
// them, and every other executor (another test, a worker) loads its own.
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import { Executor } from '../../runtime/executor.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import type { Services } from '../../runtime/node.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

const load = graph([{ id: 'load', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } }]);

/** The model the checkpoint node of one run of `load` gives on `ex`. */
async function loadedModel(ex: Executor): Promise<SdModel> {
  const r = await ex.run(load);
  expect(r.status, r.failures[0]?.message).toBe('finished');
  return r.outputs.get('load')!.model as SdModel;
}

describe('executor services', () => {
  it('hold the built-in SD models a run loaded, for that executor only', async () => {
    const data = tempData();
    const registry = createRegistry();
    const services: Services = {};
    const first = await loadedModel(new Executor({ registry, data, services }));
    expect(services.sdBuiltins?.size).toBe(1);
    // Another output cache, the same services: the same loaded model.
    expect(await loadedModel(new Executor({ registry, data, services }))).toBe(first);
    // An executor of its own loads its own.
    const own = new Executor({ registry, data });
    expect(await loadedModel(own)).not.toBe(first);
    expect(own.services.sdBuiltins?.size).toBe(1);
  });

  it('hold the session cache the models they loaded open their sessions through', async () => {
    const data = tempData();
    const registry = createRegistry();
    const services: Services = {};
    const model = await loadedModel(new Executor({ registry, data, services }));
    expect(model.sessionCache).toBe(services.sessions);
    await model.session('text');
    expect(services.sessions?.stats()).toMatchObject({ misses: 1, keys: [expect.any(String)] });
    // Another executor has its own cache: the same graph gets a session of its own there.
    const own = new Executor({ registry, data });
    const other = await loadedModel(own);
    await other.session('text');
    expect(own.services.sessions).not.toBe(services.sessions);
    expect(own.services.sessions?.stats().misses).toBe(1);
    expect(services.sessions?.stats().misses).toBe(1);
    await services.sessions?.clear();
    await own.services.sessions?.clear();
  });
});
