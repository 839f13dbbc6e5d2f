import { utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { writeSafetensors, readSafetensorsHeader, externalLocationOf } from '../../models/safetensors.ts';
import { SessionManager } from '../../models/session/manager.ts';
import { ort, type OrtSession } from '../../models/session/ort.ts';
import { tempDir } from '../helpers/temp.ts';

process.env.FACECHAIN_EP = 'cpu';

/** y = x + w, with w an inline initializer of `n` floats all equal to `value`. */
function adder(value: number, n = 1000): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [n]);
  const w = b.initializer('w', new Float32Array(n).fill(value), [n]);
  b.output(b.add(x, w), 'y');
  return b.toBytes();
}

async function first(session: OrtSession, n = 1000): Promise<number> {
  const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(n), [n]) });
  return (out.y!.data as Float32Array)[0]!;
}

describe('session cache', () => {
  it('reuses a session for the same model bytes and options, not for other options', async () => {
    const m = new SessionManager();
    const a = await m.acquire({ model: adder(1) });
    const b = await m.acquire({ model: adder(1) });
    expect(b.session).toBe(a.session);
    const c = await m.acquire({ model: adder(1), options: { intraOpNumThreads: 1 } });
    expect(c.session).not.toBe(a.session);
    expect(m.stats()).toMatchObject({ hits: 1, misses: 2 });
    // Each model counts at least its 4000 bytes of weights.
    expect(m.stats().bytes).toBeGreaterThan(8000);
    await m.clear();
  });

  it('evicts the least recently used over the budget; a leased session runs until its lease ends', async () => {
    const m = new SessionManager(10_000); // room for two 4 KB models
    const one = await m.acquire({ model: adder(1) });
    const two = await m.acquire({ model: adder(2) });
    await two.release();
    await (await m.acquire({ model: adder(1) })).release(); // 1 is now the most recent
    const three = await m.acquire({ model: adder(3) });
    expect(m.stats().evictions).toBe(1);
    expect(m.stats().keys).toHaveLength(2);
    // 2 went and was released; asking again creates a new session.
    const twoAgain = await m.acquire({ model: adder(2) });
    expect(twoAgain.session).not.toBe(two.session);
    await expect(first(two.session)).rejects.toThrow();
    // 1 was evicted by that (it was older than 3) but is still leased: it keeps working.
    expect(m.stats().evictions).toBe(2);
    expect(await first(one.session)).toBe(1);
    await one.release();
    await expect(first(one.session)).rejects.toThrow();
    expect(await first(three.session)).toBe(3);
    await m.clear();
  });

  it('releases a transient session when its last lease ends, unless a lease asked to keep it', async () => {
    const m = new SessionManager();
    const a = await m.acquire({ model: adder(1), transient: true });
    const b = await m.acquire({ model: adder(1), transient: true });
    expect(b.session).toBe(a.session);
    await a.release();
    expect(await first(b.session)).toBe(1); // still held by b
    await b.release();
    expect(m.stats().keys).toEqual([]);
    await expect(first(a.session)).rejects.toThrow();
    // A lease without `transient` keeps the session cached after every lease has ended.
    const c = await m.acquire({ model: adder(1), transient: true });
    const d = await m.acquire({ model: adder(1) });
    await c.release();
    await d.release();
    expect(m.stats().keys).toHaveLength(1);
    expect(await first(c.session)).toBe(1);
    await m.clear();
  });

  it('counts external data and tells a replaced weights file from the old one', async () => {
    const dir = tempDir('session');
    const file = path.join(dir, 'w.safetensors');
    const n = 5000;
    const model = async () => {
      const header = await readSafetensorsHeader(file);
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [n]);
      const w = b.externalInitializer('w', { dtype: 'float32', dims: [n], external: externalLocationOf(header, 'w') });
      b.output(b.add(x, w), 'y');
      return b.toBytes();
    };
    const options = { extra: { session: { model_external_initializers_file_folder_path: dir } } };
    await writeSafetensors(file, { w: { dtype: 'float32', dims: [n], data: new Float32Array(n).fill(5) } });
    const m = new SessionManager();
    const a = await m.acquire({ model: await model(), options });
    expect(await first(a.session, n)).toBe(5);
    expect(m.stats().bytes).toBeGreaterThan(4 * n);
    await writeSafetensors(file, { w: { dtype: 'float32', dims: [n], data: new Float32Array(n).fill(6) } });
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const b = await m.acquire({ model: await model(), options });
    expect(b.session).not.toBe(a.session);
    expect(await first(b.session, n)).toBe(6);
    await m.clear();
  });
});
