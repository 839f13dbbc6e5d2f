// The thread ORT sessions live in (see thread-session.ts): one session, or several that share the
// thread (their runs then queue one after another). onnxruntime-node runs a session synchronously on
// the thread that calls it, so a session on the main thread would stop the server's event loop for a
// whole UNet step. Plain JavaScript: a worker thread has no TypeScript loader.
//
// Resident tensors: outputs a run keeps here, by id, fed back to later runs without leaving the thread.
// With `preferredOutputLocation: 'gpu-buffer'` (WebGPU) they stay on the GPU: ORT's IO binding. The
// node binding cannot read a GPU tensor back (`download` is "not implemented" in 1.30), so GPU tensors
// reach the host through a copy graph (Identity) whose output is on the CPU, and host tensors reach
// the GPU through the same graph with its output on the GPU.
import { parentPort, threadId } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// ORT prints a red line for every provider that fails to load; createSession reports those itself.
ort.env.logLevel = 'fatal';
/** Sessions by the id the main thread gave them, with the options they were created with. */
const sessions = new Map();
/** Graphs run beside a session (same provider and output location), by key; they live as long as the thread. */
const companions = new Map();
/** Resident tensors by id. */
const resident = new Map();
let nextRef = 0;

const plain = (t) => ({ type: t.type, dims: [...t.dims], data: t.data });

function entry(sid) {
  const s = sessions.get(sid);
  if (!s) throw new Error(`no session ${sid} in this thread`);
  return s;
}

/** Options for a graph run beside session `sid`: its provider and threads, outputs where `location` says. */
function besideOptions(sid, location) {
  const o = entry(sid).options;
  const kept = ['executionProviders', 'intraOpNumThreads', 'interOpNumThreads', 'executionMode'].filter((k) => o[k] !== undefined);
  return { ...Object.fromEntries(kept.map((k) => [k, o[k]])), preferredOutputLocation: location };
}

async function companion(key, model, options) {
  let s = companions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(model, options);
    companions.set(key, s);
    s.catch(() => companions.delete(key));
  }
  return s;
}

/** A host copy of a tensor: GPU tensors go through the session's copy graph with its output on the CPU. */
async function toHost(sid, t) {
  if (t.location === 'cpu') return t;
  const { copy } = entry(sid);
  if (!copy) throw new Error(`tensor on ${t.location} and no copy graph to bring it back`);
  const s = await companion(`copy->cpu:${sid}`, copy, besideOptions(sid, 'cpu'));
  return (await s.run({ x: t })).y;
}

function feedsOf(m) {
  const feeds = {};
  for (const [name, t] of Object.entries(m.feeds)) {
    if (t.ref === undefined) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    else {
      const r = resident.get(t.ref);
      if (!r) throw new Error(`feed ${name}: resident tensor ${t.ref} was freed`);
      feeds[name] = r;
    }
  }
  return feeds;
}

function keepAll(out) {
  const result = {};
  for (const [name, t] of Object.entries(out)) {
    const ref = nextRef++;
    resident.set(ref, t);
    result[name] = { ref, type: t.type, dims: [...t.dims], location: t.location };
  }
  return { result };
}

async function hostOutputs(sid, out) {
  const result = {};
  for (const [name, t] of Object.entries(out)) result[name] = plain(await toHost(sid, t));
  // Output buffers are fresh copies owned by this thread: hand them over instead of copying again, but
  // never a resident tensor's (`get`, or an output that is a kept input), which must stay here.
  const held = new Set([...resident.values()].filter((t) => t.location === 'cpu').map((t) => t.data.buffer));
  const transfer = Object.values(result).map((t) => t.data.buffer).filter((b) => b instanceof ArrayBuffer && !held.has(b));
  return { result, transfer: [...new Set(transfer)] };
}

async function handle(m) {
  if (m.op === 'create') {
    const s = await ort.InferenceSession.create(m.model, m.options);
    sessions.set(m.sid, { session: s, options: m.options, copy: m.copy });
    const { inputNames, outputNames, inputMetadata, outputMetadata } = s;
    return { result: { inputNames, outputNames, inputMetadata, outputMetadata, options: m.options, threadId } };
  }
  if (m.op === 'run') {
    const { session, options } = entry(m.sid);
    const s = m.graph ? await companion(`${m.graph.key}:${m.sid}`, m.graph.model, besideOptions(m.sid, options.preferredOutputLocation ?? 'cpu')) : session;
    const out = await s.run(feedsOf(m));
    return m.keep ? keepAll(out) : hostOutputs(m.sid, out);
  }
  if (m.op === 'runLent') {
    // ORT writes the outputs into the lent buffers; every buffer goes back to the caller.
    const tensors = (ts) => Object.fromEntries(Object.entries(ts).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
    await entry(m.sid).session.run(tensors(m.feeds), tensors(m.outputs));
    const buffers = [...Object.values(m.feeds), ...Object.values(m.outputs)].map((t) => t.data.buffer);
    return { result: { feeds: m.feeds, outputs: m.outputs }, transfer: [...new Set(buffers)] };
  }
  if (m.op === 'put') {
    const t = new ort.Tensor(m.tensor.type, m.tensor.data, m.tensor.dims);
    const { copy, options } = entry(m.sid);
    if (!copy || options.preferredOutputLocation !== 'gpu-buffer') return keepAll({ t });
    const s = await companion(`copy->gpu:${m.sid}`, copy, besideOptions(m.sid, 'gpu-buffer'));
    return keepAll({ t: (await s.run({ x: t })).y });
  }
  if (m.op === 'get') {
    const r = resident.get(m.ref);
    if (!r) throw new Error(`resident tensor ${m.ref} was freed`);
    return hostOutputs(m.sid, { t: r });
  }
  if (m.op === 'free') {
    for (const ref of m.refs) {
      const t = resident.get(ref);
      resident.delete(ref);
      if (t?.location !== 'cpu') t?.dispose();
    }
    return { result: null };
  }
  if (m.op === 'release') {
    const s = sessions.get(m.sid);
    sessions.delete(m.sid);
    for (const [key, c] of companions) {
      if (!key.endsWith(`:${m.sid}`)) continue;
      companions.delete(key);
      await (await c).release();
    }
    await s?.session.release();
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
