// The thread one ORT session lives in (see thread-session.ts). onnxruntime-node runs a session
// synchronously on the thread that calls it, so a session on the main thread would stop the server's
// event loop for a whole UNet step. Plain JavaScript: a worker thread has no TypeScript loader.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// ORT prints a red line for every provider that fails to load; createSession reports those itself.
ort.env.logLevel = 'fatal';
let session;

const plain = (t) => ({ type: t.type, dims: [...t.dims], data: t.data });

async function handle(m) {
  if (m.op === 'create') {
    session = await ort.InferenceSession.create(m.model, m.options);
    const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
    return { result: { inputNames, outputNames, inputMetadata, outputMetadata, options: m.options } };
  }
  if (m.op === 'run') {
    const feeds = {};
    for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session.run(feeds);
    const result = {};
    for (const [name, t] of Object.entries(out)) result[name] = plain(t);
    // Output buffers are fresh copies owned by this thread: hand them over instead of copying again.
    const transfer = Object.values(result).map((t) => t.data.buffer).filter((b) => b instanceof ArrayBuffer);
    return { result, transfer: [...new Set(transfer)] };
  }
  if (m.op === 'release') {
    await session?.release();
    session = undefined;
    return { result: null };
  }
  throw new Error(`unknown op ${m.op}`);
}

parentPort.on('message', async (m) => {
  try {
    const { result, transfer } = await handle(m);
    try {
      parentPort.postMessage({ id: m.id, result }, transfer ?? []);
    } catch {
      parentPort.postMessage({ id: m.id, result });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
