// `--sd-memory int8`: the UNet's transformer linear layers (the LoRA target modules: proj_in/out,
// attention q/k/v/out, feed-forward) as com.microsoft MatMulNBits with 8-bit weights in blocks of
// BLOCK along K, one float32 scale per block, zero point 128 (symmetric), accuracy_level 4: ORT
// quantises the activations to int8 per block too and computes in int8 (VNNI on this CPU). Measured on
// the 2-core Zen 4 (ORT 1.30, 2 threads): [8192,640]x[640,5120] 112-126 ms against 175 ms in float32,
// 5.5e-3 relative error; blocks of 32 were slower (416 against 481 GFLOP/s), 4 bits no faster and 12x the
// error, accuracy_level 0 no faster than float32. K=320 (SD1.5's first blocks) padded to 384 ran as
// fast as in blocks of 64 or 32, so one block size serves every layer.
// The weights are quantised once into the converted cache, keyed by what they are made from (the
// checkpoint's sha256), and the graph is rewritten at each session creation to point into that file.
import { open } from 'node:fs/promises';
import path from 'node:path';
import {
  AttributeType, bytesPerElement, decodeModel, dtypeFromOnnx, encodeModel, externalLocation, fromBfloat16, tensorFromProto, tensorToProto,
  type ModelProto, type NodeProto, type TensorProto, type TypedArray,
} from '../onnx/index.ts';
import { ExternalDataReader } from '../onnx/io.ts';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { BLOCK, blocksOf, chunkRows, Quantizer } from './int8-quantize.ts';
import { commonDir, rebase, relativeFile, weightsHashed, weightsIdentity } from './weight-files.ts';

/** Bump when quantisation changes what it writes for the same weights (2: float32 ORT graph, half to even). */
const INT8_VERSION = 2;
const FILE = 'unet-int8.bin';

/** A Gemm x·Wᵀ (+ bias) whose W is a selected initializer, reached through Casts and Reshapes. */
interface Linear {
  gemm: NodeProto;
  weight: TensorProto;
  /** The Cast/Reshape nodes between the initializer and the Gemm. */
  chain: NodeProto[];
  n: number;
  k: number;
}

function linears(model: ModelProto, select: (weight: string) => boolean): Linear[] {
  const graph = model.graph ?? {};
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producer = new Map((graph.node ?? []).flatMap((node) => (node.output ?? []).map((o) => [o, node] as const)));
  const uses = new Map<string, number>();
  for (const node of graph.node ?? []) for (const i of node.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const found: Linear[] = [];
  for (const gemm of graph.node ?? []) {
    if (gemm.opType !== 'Gemm' || gemm.domain) continue;
    const attrs = new Map((gemm.attribute ?? []).map((a) => [a.name, a]));
    if (Number(attrs.get('transB')?.i ?? 0) !== 1 || attrs.has('transA') || attrs.has('alpha') || attrs.has('beta')) continue;
    const chain: NodeProto[] = [];
    let source = gemm.input![1]!;
    for (let p = producer.get(source); p && (p.opType === 'Cast' || p.opType === 'Reshape') && uses.get(source) === 1; p = producer.get(source)) {
      chain.push(p);
      source = p.input![0]!;
    }
    const weight = inits.get(source);
    if (!weight || uses.get(source) !== 1 || !select(source)) continue;
    const [n = 0, ...rest] = weight.dims ?? [];
    found.push({ gemm, weight, chain, n: Number(n), k: rest.reduce((a, d) => a * Number(d), 1) });
  }
  return found;
}

/** One run of the quantiser: rows [r0, r0 + rows) of layer `layer`. */
interface Chunk {
  layer: number;
  r0: number;
  rows: number;
}

/** Row chunks of every layer in turn. */
function chunks(found: readonly Linear[]): Chunk[] {
  return found.flatMap((l, layer) => {
    const step = chunkRows(l.k);
    return Array.from({ length: Math.ceil(l.n / step) }, (_, i) => ({ layer, r0: i * step, rows: Math.min(step, l.n - i * step) }));
  });
}

/** Reads a chunk's rows into `into` (float32, or float16 bits for fp16 weights): from the weights' file, or inline data. */
function chunkReader(found: readonly Linear[], dir: string | undefined) {
  const readers = new Map<string, ExternalDataReader>();
  let inline: { layer: number; data: TypedArray } | undefined;
  const read = async ({ layer, r0, rows }: Chunk, into: Uint8Array<ArrayBuffer>): Promise<void> => {
    const { weight, k } = found[layer]!;
    const dtype = dtypeFromOnnx(weight.dataType ?? 0);
    const loc = externalLocation(weight);
    const bytes = bytesPerElement(dtype);
    const length = rows * k * bytes;
    let source: Uint8Array;
    if (loc) {
      if (!dir) throw new Error(`weight ${weight.name} points into ${loc.file}, but the model has no weights folder`);
      let reader = readers.get(dir);
      if (!reader) readers.set(dir, (reader = new ExternalDataReader(dir)));
      const at = { ...loc, offset: loc.offset + r0 * k * bytes, length };
      if (dtype !== 'bfloat16') return void (await reader.read(at, into));
      source = await reader.read(at);
    } else {
      if (inline?.layer !== layer) inline = { layer, data: tensorFromProto(weight).data };
      const { data } = inline;
      source = new Uint8Array(data.buffer, data.byteOffset + r0 * k * bytes, length);
      if (dtype !== 'bfloat16') return void into.set(source);
    }
    // ORT's JavaScript tensors have no bfloat16: these few are widened here.
    fromBfloat16(new Uint16Array(source.buffer, source.byteOffset, rows * k), new Float32Array(into.buffer, into.byteOffset, rows * k));
  };
  return { read, close: () => Promise.all([...readers.values()].map((r) => r.close())) };
}

/**
 * Quantises every layer, a chunk of rows at a time, in an ORT graph (int8-quantize.ts) fed from two
 * sets of buffers in turn: the next chunk is read while this one is quantised and the last one written.
 * `use` gets a chunk's q and scales (valid until it resolves).
 */
async function eachQuantized(quantizer: Quantizer, found: readonly Linear[], dir: string | undefined, use: (c: Chunk, q: Uint8Array, scales: Float32Array) => Promise<void>): Promise<void> {
  for (const l of found) {
    const dtype = dtypeFromOnnx(l.weight.dataType ?? 0);
    if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') throw new Error(`weight ${l.weight.name}: ${dtype} cannot be quantised`);
  }
  const all = chunks(found);
  if (all.length === 0) return;
  const most = (f: (c: Chunk, l: Linear) => number) => Math.max(0, ...all.map((c) => f(c, found[c.layer]!)));
  const set = () => ({
    w: new ArrayBuffer(most((c, l) => c.rows * l.k * 4)),
    q: new ArrayBuffer(most((c, l) => c.rows * blocksOf(l.k) * BLOCK)),
    scales: new ArrayBuffer(most((c, l) => c.rows * blocksOf(l.k) * 4)),
  });
  const sets = [set(), set()];
  const reader = chunkReader(found, dir);
  const input = (c: Chunk, w: ArrayBuffer) => {
    const size = c.rows * found[c.layer]!.k;
    return dtypeFromOnnx(found[c.layer]!.weight.dataType ?? 0) === 'float16' ? new Uint16Array(w, 0, size) : new Float32Array(w, 0, size);
  };
  const load = async (c: Chunk, s: (typeof sets)[number]) => {
    await reader.read(c, new Uint8Array(s.w));
    return s;
  };
  try {
    let next = load(all[0]!, sets[0]!);
    let written: Promise<void> = Promise.resolve();
    for (const [i, c] of all.entries()) {
      const s = await next;
      const { k } = found[c.layer]!;
      const blocks = blocksOf(k);
      const running = quantizer.run({ w: input(c, s.w), q: new Uint8Array(s.q, 0, c.rows * blocks * BLOCK), scales: new Float32Array(s.scales, 0, c.rows * blocks) }, c.rows, k);
      // Each of these is awaited below; marked handled so a failure while another is awaited is not an unhandled rejection.
      running.catch(() => undefined);
      const following = all[i + 1];
      if (following) {
        // The other set's last chunk must be written before it is read into again.
        await written;
        next = load(following, sets[(i + 1) % 2]!);
        next.catch(() => undefined);
      }
      const out = await running;
      sets[i % 2] = { w: out.w.buffer as ArrayBuffer, q: out.q.buffer as ArrayBuffer, scales: out.scales.buffer as ArrayBuffer };
      written = use(c, out.q, out.scales);
      written.catch(() => undefined);
    }
    await written;
  } finally {
    await reader.close();
  }
}

/** Where each weight's B and scales are in the quantised file: in graph order, 64-byte aligned. */
function layout(found: readonly Linear[]): { b: number; scales: number }[] {
  const align = (x: number) => Math.ceil(x / 64) * 64;
  let at = 0;
  return found.map(({ n, k }) => {
    const blocks = blocksOf(k);
    const b = at;
    const scales = align(b + n * blocks * BLOCK);
    at = align(scales + n * blocks * 4);
    return { b, scales };
  });
}

async function writeQuantized(quantizer: Quantizer, file: string, found: readonly Linear[], dir: string | undefined): Promise<void> {
  const out = await open(file, 'w');
  try {
    const places = layout(found);
    await eachQuantized(quantizer, found, dir, async (c, q, scales) => {
      const blocks = blocksOf(found[c.layer]!.k);
      await Promise.all([
        out.write(q, 0, q.byteLength, places[c.layer]!.b + c.r0 * blocks * BLOCK),
        out.write(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength), 0, scales.byteLength, places[c.layer]!.scales + c.r0 * blocks * 4),
      ]);
    });
  } finally {
    await out.close();
  }
}

/** The Gemm's replacement: MatMulNBits reading the quantised B and scales, the Gemm's bias as its input 5. */
function matMulNBits(l: Linear, b: string, scales: string): NodeProto {
  const ints = (name: string, i: number) => ({ name, type: AttributeType.INT, i });
  const [a, , bias] = l.gemm.input!;
  return {
    ...l.gemm,
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    input: bias ? [a!, b, scales, '', '', bias] : [a!, b, scales],
    attribute: [ints('K', l.k), ints('N', l.n), ints('bits', 8), ints('block_size', BLOCK), ints('accuracy_level', 4)],
  };
}

export interface Int8Graph {
  bytes: Uint8Array;
  /** The folder its external initializers are relative to (holding the checkpoint and the quantised file); undefined when all are inline. */
  weightsDir: string | undefined;
  /** How many linear layers became MatMulNBits. */
  layers: number;
}

/**
 * The graph with every Gemm whose weight `select` names as int8 MatMulNBits. With `modelsDir` the
 * quantised weights go once into its converted cache (keyed by the weights' content and layout) and
 * the graph points there; without one (a model built in memory) they are inline.
 */
export async function int8Graph(graph: Uint8Array, weightsDir: string | undefined, select: (weight: string) => boolean, modelsDir?: string): Promise<Int8Graph> {
  const model = decodeModel(graph);
  const found = linears(model, select);
  const quantizer = new Quantizer();
  try {
    const quantized = modelsDir ? await cached(quantizer, found, weightsDir, modelsDir) : { initializers: await inline(quantizer, found, weightsDir), root: weightsDir };
    return rewritten(model, found, quantized.initializers, weightsDir, quantized.root);
  } finally {
    await quantizer.release();
  }
}

const tensorNames = (l: Linear) => ({ b: `${l.weight.name}.int8`, scales: `${l.weight.name}.int8_scales` });
const tensorDims = (l: Linear) => ({ b: [l.n, blocksOf(l.k), BLOCK], scales: [l.n * blocksOf(l.k)] });

/** The quantised weights as initializers pointing into the converted cache (quantised there first if new), and the folder they and the checkpoint share. */
async function cached(quantizer: Quantizer, found: readonly Linear[], weightsDir: string | undefined, modelsDir: string): Promise<{ initializers: TensorProto[]; root: string }> {
  const weights = new Map(found.map((l) => [l.weight.name!, { proto: l.weight, dir: weightsDir }]));
  // A checkpoint not hashed yet is most likely not quantised yet either: the quantiser's thread starts while it is hashed.
  if (!(await weightsHashed(weights, modelsDir))) {
    for (const l of found) {
      const dtype = dtypeFromOnnx(l.weight.dataType ?? 0);
      quantizer.prepare(dtype === 'float16' ? 'float16' : 'float32').catch(() => undefined);
    }
  }
  const key = convertedKey(await weightsIdentity(weights, modelsDir), { int8: INT8_VERSION, block: BLOCK, layers: found.map((l) => [l.n, l.k]) });
  const dir = await ensureConverted(modelsDir, key, (d) => writeQuantized(quantizer, path.join(d, FILE), found, weightsDir));
  const root = commonDir(weightsDir ? [dir, weightsDir] : [dir]);
  const file = relativeFile(root, path.join(dir, FILE));
  const places = layout(found);
  const initializers = found.flatMap((l, i) => {
    const bytes = l.n * blocksOf(l.k);
    return [
      tensorToProto(tensorNames(l).b, { dtype: 'uint8', dims: tensorDims(l).b, external: { file, offset: places[i]!.b, length: bytes * BLOCK } }),
      tensorToProto(tensorNames(l).scales, { dtype: 'float32', dims: tensorDims(l).scales, external: { file, offset: places[i]!.scales, length: bytes * 4 } }),
    ];
  });
  return { initializers, root };
}

/** The quantised weights as inline initializers (a model without a models folder). */
async function inline(quantizer: Quantizer, found: readonly Linear[], weightsDir: string | undefined): Promise<TensorProto[]> {
  const out = found.map((l) => ({ q: new Uint8Array(l.n * blocksOf(l.k) * BLOCK), scales: new Float32Array(l.n * blocksOf(l.k)) }));
  await eachQuantized(quantizer, found, weightsDir, async (c, q, scales) => {
    const blocks = blocksOf(found[c.layer]!.k);
    out[c.layer]!.q.set(q, c.r0 * blocks * BLOCK);
    out[c.layer]!.scales.set(scales, c.r0 * blocks);
  });
  return found.flatMap((l, i) => [
    tensorToProto(tensorNames(l).b, { dtype: 'uint8', dims: tensorDims(l).b, data: out[i]!.q }),
    tensorToProto(tensorNames(l).scales, { dtype: 'float32', dims: tensorDims(l).scales, data: out[i]!.scales }),
  ]);
}

/** The graph with each found Gemm (and the Casts/Reshapes before it) replaced by MatMulNBits over `quantized`. */
function rewritten(model: ModelProto, found: readonly Linear[], quantized: TensorProto[], weightsDir: string | undefined, root: string | undefined): Int8Graph {
  const replaced = new Map(found.map((l) => [l.gemm, matMulNBits(l, tensorNames(l).b, tensorNames(l).scales)]));
  const dropped = new Set(found.flatMap((l) => l.chain));
  const droppedWeights = new Set(found.map((l) => l.weight));
  const g = model.graph ?? {};
  const node = (g.node ?? []).filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  // The dropped Reshapes' shape constants go too (ORT would warn about each unused one).
  const used = new Set(node.flatMap((n) => n.input ?? []));
  const kept = (g.initializer ?? []).filter((t) => !droppedWeights.has(t) && used.has(t.name!));
  const initializer = [...kept.map((t) => (root ? rebase(t, weightsDir, root) : t)), ...quantized];
  const opsetImport = model.opsetImport?.some((o) => o.domain === 'com.microsoft') ? model.opsetImport : [...(model.opsetImport ?? []), { domain: 'com.microsoft', version: 1 }];
  return { bytes: encodeModel({ ...model, opsetImport, graph: { ...g, initializer, node } }), weightsDir: root, layers: found.length };
}
