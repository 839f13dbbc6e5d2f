// Sessions created under one thread name live in one worker thread (recompute's hundreds of segment
// sessions would otherwise pay for a thread each) and still run, fail and release independently.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { ort } from '../../models/session/ort.ts';
import { ThreadSession } from '../../models/session/thread-session.ts';

/** y = x + k */
const adder = (k: number) => {
  const b = new GraphBuilder();
  b.output(b.add(b.input('x', 'float32', [2]), b.initializer('k', { dtype: 'float32', dims: [1], data: Float32Array.of(k) })), 'y');
  return b.toBytes();
};
const options = { graphOptimizationLevel: 'disabled' as const, executionProviders: ['cpu'] };
const run = async (s: ThreadSession, x: number[]) => [...((await s.run({ x: new ort.Tensor('float32', Float32Array.from(x), [2]) })).y!.data as Float32Array)];

describe('sessions sharing a worker thread', () => {
  it('share one thread by name, run apart, and the thread ends with its last session', async () => {
    const shared = await Promise.all([1, 2, 3].map((k) => ThreadSession.create(adder(k), options, 'test-shared')));
    const own = await ThreadSession.create(adder(10), options);
    const other = await ThreadSession.create(adder(20), options, 'test-other');
    expect(new Set(shared.map((s) => s.threadId)).size).toBe(1);
    expect(new Set([shared[0]!.threadId, own.threadId, other.threadId]).size).toBe(3);

    // Runs posted at once queue in the thread; each session answers with its own graph.
    expect(await Promise.all(shared.map((s) => run(s, [0, 1])))).toEqual([[1, 2], [2, 3], [3, 4]]);
    // A session that fails to create leaves the thread and its sessions working.
    await expect(ThreadSession.create(Uint8Array.of(1, 2, 3), options, 'test-shared')).rejects.toThrow();
    await shared[0]!.release();
    expect(await run(shared[2]!, [5, 5])).toEqual([8, 8]);
    await expect(run(shared[0]!, [0, 0])).rejects.toThrow(/no session/);

    const thread = shared[1]!.threadId;
    await shared[1]!.release();
    await shared[2]!.release();
    // The name's thread ended with its last session: the next one starts a new thread.
    const again = await ThreadSession.create(adder(4), options, 'test-shared');
    expect(again.threadId).not.toBe(thread);
    expect(await run(again, [1, 1])).toEqual([5, 5]);
    for (const s of [again, own, other]) await s.release();
  });
});
