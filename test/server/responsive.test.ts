// onnxruntime-node runs a session synchronously on the calling thread; sessions live in worker threads
// (models/session/thread-session.ts) so the server keeps answering while a long run computes.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { ort } from '../../models/session/ort.ts';
import { createSession } from '../../models/session/providers.ts';
import { startServer, type RunningServer } from '../../server/app.ts';

let server: RunningServer;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-responsive-'));
  server = await startServer({ port: 0, dataDir });
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A session whose run takes seconds on one thread: 100 chained 1024x1024 MatMuls (about 200 GFLOP). */
async function slowSession() {
  const b = new GraphBuilder();
  const n = 1024;
  let y = b.input('x', 'float32', [n, n]);
  const w = b.initializer('w', new Float32Array(n * n).fill(1 / n), [n, n]);
  for (let i = 0; i < 100; i++) y = b.matMul(y, w);
  b.output(y, 'y');
  return createSession(b.toBytes(), { intraOpNumThreads: 1 });
}

describe('the server during a session run', () => {
  it('answers a WebSocket ping and an HTTP request before the run ends', async () => {
    const session = await slowSession();
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let runEnded = false;
    const run = session.run({ x: new ort.Tensor('float32', new Float32Array(1024 * 1024).fill(1), [1024, 1024]) }).then((out) => {
      runEnded = true;
      return out;
    });
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping();
    await pong;
    expect(runEnded).toBe(false);
    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(runEnded).toBe(false);
    // The run itself still computes the right thing: every entry stays 1 (rows of w sum to 1).
    const out = await run;
    const y = out.y!.data as Float32Array;
    expect(Math.abs(y[0]! - 1)).toBeLessThan(1e-3);
    expect(Math.abs(y[y.length - 1]! - 1)).toBeLessThan(1e-3);
    ws.close();
    await session.release();
  });
});
