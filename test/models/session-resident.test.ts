// Resident tensors: outputs kept in a session's thread and fed back (ORT's IO binding on GPU sessions),
// exercised on the CPU provider, where they must give what the same runs give through host copies.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { ort, type OrtTensor } from '../../models/session/ort.ts';
import { ThreadSession } from '../../models/session/thread-session.ts';

function graph(name: string, body: (b: GraphBuilder, x: ReturnType<GraphBuilder['input']>) => ReturnType<GraphBuilder['input']>): Uint8Array {
  const b = new GraphBuilder({ graphName: name });
  b.output(body(b, b.input('x', 'float32', ['n'])), 'y', 'float32');
  return b.toBytes();
}
// y = x * 1.1 + 0.3, rounding every step, so feeding back compounds whatever a copy would change.
const affine = graph('affine', (b, x) => b.add(b.mul(x, b.constant(1.1)), b.constant(0.3)));
const square = { key: 'square', model: graph('square', (b, x) => b.mul(x, x)) };
const host = (v: number[]) => new ort.Tensor('float32', new Float32Array(v), [v.length]);

describe('lent buffers (runLent)', () => {
  it('writes the outputs into the caller\'s buffers and hands every buffer back, views kept', async () => {
    const s = await ThreadSession.create(affine, { executionProviders: ['cpu'] });
    try {
      const [xs, ys] = [new Float32Array(8), new Float32Array(8)];
      xs.set([1, -2, 3.25], 2);
      const { feeds, outputs } = await s.runLent({ x: new ort.Tensor('float32', xs.subarray(2, 5), [3]) }, { y: new ort.Tensor('float32', ys.subarray(4, 7), [3]) });
      // Lent: detached here while the thread had them.
      expect(xs.buffer.byteLength).toBe(0);
      const [x, y] = [feeds.x!.data as Float32Array, outputs.y!.data as Float32Array];
      expect([x.byteOffset, y.byteOffset, x.buffer.byteLength, y.buffer.byteLength]).toEqual([8, 16, 32, 32]);
      expect([...x]).toEqual([1, -2, 3.25]);
      expect([...y]).toEqual([1, -2, 3.25].map((v) => Math.fround(Math.fround(v * Math.fround(1.1)) + Math.fround(0.3))));
      expect([...new Float32Array(y.buffer)].filter((v, i) => v !== 0 && (i < 4 || i > 6))).toEqual([]);
    } finally {
      await s.release();
    }
  });
});

describe('resident tensors', () => {
  it('outputs kept in the thread and fed back give exactly what host round trips give', async () => {
    const s = await ThreadSession.create(affine, { executionProviders: ['cpu'] });
    try {
      let viaHost: OrtTensor = host([1, -2, 3.25]);
      for (let i = 0; i < 5; i++) viaHost = (await s.run({ x: viaHost })).y!;
      let kept = await s.upload(host([1, -2, 3.25]));
      for (let i = 0; i < 5; i++) {
        const next = (await s.runResident({ x: kept })).y!;
        await s.free([kept]);
        kept = next;
      }
      expect(kept).toMatchObject({ resident: true, type: 'float32', dims: [3], location: 'cpu' });
      expect([...((await s.download(kept)).data as Float32Array)]).toEqual([...(viaHost.data as Float32Array)]);
      // A graph run beside the session takes its resident tensors, in and out.
      const squared = (await s.runResident({ x: kept }, square)).y!;
      const v = viaHost.data as Float32Array;
      expect([...((await s.runBeside(square, { x: squared })).y!.data as Float32Array)]).toEqual([...v].map((a) => Math.fround(Math.fround(a * a) * Math.fround(a * a))));
      await s.free([kept]);
      await expect(s.run({ x: kept })).rejects.toThrow('was freed');
    } finally {
      await s.release();
    }
  });

  it('belong to their thread: another thread\'s session refuses them', async () => {
    const [a, b] = [await ThreadSession.create(affine, { executionProviders: ['cpu'] }), await ThreadSession.create(affine, { executionProviders: ['cpu'] })];
    try {
      const t = await a.upload(host([1]));
      await expect(b.run({ x: t })).rejects.toThrow('thread that holds it');
      expect([...((await a.run({ x: t })).y!.data as Float32Array)]).toEqual([Math.fround(Math.fround(1.1) + Math.fround(0.3))]);
    } finally {
      await a.release();
      await b.release();
    }
  });
});
