// The thread ORT sessions live in (see thread-session.ts): one session, or several that share the
// thread (their runs then queue one after another). onnxruntime-node runs a session synchronously on
// the thread that calls it, so a session on the main thread would stop the server's event loop for a
// whole UNet step. Plain JavaScript: a worker thread has no TypeScript loader.
import { parentPort, threadId } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// ORT prints a red line for every provider that fails to load; createSession reports those itself.
ort.env.logLevel = 'fatal';
/** Sessions by the id the main thread gave them. */
const sessions = new Map();

const plain = (t) => ({ type: t.type, dims: [...t.dims], data: t.data });

function session(sid) {
  const s = sessions.get(sid);
  if (!s) throw new Error(`no session ${sid} in this thread`);
  return s;
}

async function handle(m) {
  if (m.op === 'create') {
    const s = await ort.InferenceSession.create(m.model, m.options);
    sessions.set(m.sid, s);
    const { inputNames, outputNames, inputMetadata, outputMetadata } = s;
    return { result: { inputNames, outputNames, inputMetadata, outputMetadata, options: m.options, threadId } };
  }
  if (m.op === 'run') {
    const feeds = {};
    for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session(m.sid).run(feeds);
    const result = {};
    for (const [name, t] of Object.entries(out)) result[name] = plain(t);
    // Output buffers are fresh copies owned by this thread: hand them over instead of copying again.
    const transfer = Object.values(result).map((t) => t.data.buffer).filter((b) => b instanceof ArrayBuffer);
    return { result, transfer: [...new Set(transfer)] };
  }
  if (m.op === 'release') {
    const s = sessions.get(m.sid);
    sessions.delete(m.sid);
    await s?.release();
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
