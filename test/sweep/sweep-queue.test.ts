// A graph with meta.sweep queued on the server's run queue runs as a sweep: one run id, a sweep.cell
// event per cell, the run's record saved with them; a bad spec is refused at submit, naming the field.
import { describe, expect, it } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import { GraphValidationError } from '../../runtime/validate.ts';
import { RunHistory } from '../../server/run-history.ts';
import { RunQueue } from '../../server/run-queue.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';

const registry = testRegistry();
const data = tempData();
const q = new RunQueue({ executor: new Executor({ registry, data }), registry, data, history: new RunHistory(data.runs) });
const doc = (sweep: unknown) => ({
  ...graph(
    [
      { id: 'load', type: 'image/load-images', params: { path: 'portraits/portrait1.jpg' } },
      { id: 'resize', type: 'image/resize', params: { width: 32, height: 32 } },
    ],
    [['load', 'images', 'resize', 'images']],
  ),
  meta: { sweep },
});

describe('sweeps on the run queue', () => {
  it('runs every cell under one run id and records the cells', async () => {
    const { ensureSampleInputs } = await import('../../runtime/sample-inputs.ts');
    await ensureSampleInputs(data);
    const record = q.enqueue(doc({ name: 'queued', axes: [{ node: 'resize', param: 'width', values: { from: 16, to: 48, step: 16 } }] }));
    await q.idle();
    expect(record.state.status).toBe('finished');
    const cells = record.events.flatMap((e) => (e.type === 'sweep.cell' ? [e] : []));
    expect(cells.map((c) => [c.done, c.total, c.row.values[0], c.row.image])).toEqual([
      [1, 3, 16, 'cell-0-0-0-s0.png'],
      [2, 3, 32, 'cell-1-0-0-s0.png'],
      [3, 3, 48, 'cell-2-0-0-s0.png'],
    ]);
    expect(record.events.filter((e) => e.type === 'run.started' || e.type === 'run.finished')).toHaveLength(2);
  });

  it('refuses a sweep spec with problems when it is submitted', () => {
    const submit = () => q.enqueue(doc({ axes: [{ node: 'resize', param: 'depth', values: [1] }] }));
    expect(submit).toThrow(GraphValidationError);
    expect(submit).toThrow(/image\/resize has no param "depth"/);
  });
});
