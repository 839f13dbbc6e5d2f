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
  arrayFromBytes, AttributeType, decodeModel, dtypeFromOnnx, encodeModel, externalLocation, fromBfloat16, fromFloat16,
  tensorFromProto, tensorToProto, type ModelProto, type NodeProto, type TensorProto,
} from '../onnx/index.ts';
import { ExternalDataReader } from '../onnx/io.ts';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { commonDir, rebase, relativeFile, weightsIdentity, type GraphWeight } from './weight-files.ts';

export const BLOCK = 128;
/** Bump when quantisation changes what it writes for the same weights. */
const INT8_VERSION = 1;
const FILE = 'unet-int8.bin';
const ZERO_POINT = 128;

/** One weight [N, K] (torch's Linear layout, rows = outputs) in MatMulNBits' layout: B [N, kBlocks, BLOCK], scales [N * kBlocks]. */
export interface Int8Weight {
  data: Uint8Array;
  scales: Float32Array;
}

/**
 * Symmetric block-wise 8-bit quantisation of a row-major [n, k] matrix: each run of `block` values of a
 * row gets scale max|w| / 127 and q = round(w / scale) + 128; K is padded to whole blocks with 128 (zero).
 * `into`: buffers to reuse (views of them are returned) when large enough.
 */
export function quantizeInt8(w: Float32Array, n: number, k: number, block = BLOCK, into?: Int8Weight): Int8Weight {
  if (w.length !== n * k) throw new Error(`quantizeInt8: ${w.length} values is not ${n}x${k}`);
  const blocks = Math.ceil(k / block);
  const reuse = into && into.data.length >= n * blocks * block && into.scales.length >= n * blocks;
  const data = reuse ? into.data.subarray(0, n * blocks * block).fill(ZERO_POINT) : new Uint8Array(n * blocks * block).fill(ZERO_POINT);
  const scales = reuse ? into.scales.subarray(0, n * blocks) : new Float32Array(n * blocks);
  for (let row = 0; row < n; row++) {
    for (let j = 0; j < blocks; j++) {
      const from = row * k + j * block;
      const to = row * k + Math.min(k, (j + 1) * block);
      let max = 0;
      for (let i = from; i < to; i++) {
        const v = w[i]!;
        const a = v < 0 ? -v : v;
        if (a > max) max = a;
      }
      const scale = max / 127;
      scales[row * blocks + j] = scale;
      if (scale === 0) continue;
      const inv = 1 / scale;
      const out = (row * blocks + j) * block - from;
      // Math.round(x) + 128 for x in [-127, 127] as an integer truncation: half the time of Math.round.
      for (let i = from; i < to; i++) data[out + i] = (w[i]! * inv + (ZERO_POINT + 0.5)) | 0;
    }
  }
  return { data, scales };
}

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

/** A weight's values as float32, read and converted into the scratch buffers. */
async function floats(w: GraphWeight, readers: Map<string, ExternalDataReader>, scratch: { bytes: Uint8Array; floats: Float32Array }): Promise<Float32Array> {
  const dtype = dtypeFromOnnx(w.proto.dataType ?? 0);
  const loc = externalLocation(w.proto);
  let values;
  if (loc) {
    if (!w.dir) throw new Error(`weight ${w.proto.name} points into ${loc.file}, but the model has no weights folder`);
    let reader = readers.get(w.dir);
    if (!reader) readers.set(w.dir, (reader = new ExternalDataReader(w.dir)));
    values = arrayFromBytes(dtype, await reader.read(loc, loc.length <= scratch.bytes.length ? scratch.bytes : undefined));
  } else values = tensorFromProto(w.proto).data;
  const out = values.length <= scratch.floats.length ? scratch.floats : undefined;
  if (dtype === 'float16') return fromFloat16(values as Uint16Array, out);
  if (dtype === 'bfloat16') return fromBfloat16(values as Uint16Array, out);
  if (dtype === 'float32') return values as Float32Array;
  throw new Error(`weight ${w.proto.name}: ${dtype} cannot be quantised`);
}

/**
 * Quantises each layer in turn into the same two buffers: fresh memory costs a page fault per 4 KiB
 * on this virtual machine, which made a new buffer per layer cost as much as the quantising itself.
 */
async function eachQuantized(found: readonly Linear[], dir: string | undefined, use: (q: Int8Weight, i: number) => Promise<void>): Promise<void> {
  const readers = new Map<string, ExternalDataReader>();
  const most = (f: (l: Linear) => number) => Math.max(0, ...found.map(f));
  const buffers = { data: new Uint8Array(most((l) => l.n * Math.ceil(l.k / BLOCK) * BLOCK)), scales: new Float32Array(most((l) => l.n * Math.ceil(l.k / BLOCK))) };
  const scratch = { bytes: new Uint8Array(most((l) => l.n * l.k * 4)), floats: new Float32Array(most((l) => l.n * l.k)) };
  try {
    for (const [i, l] of found.entries()) await use(quantizeInt8(await floats({ proto: l.weight, dir }, readers, scratch), l.n, l.k, BLOCK, buffers), i);
  } finally {
    await Promise.all([...readers.values()].map((r) => r.close()));
  }
}

/** Where each weight's B and scales are in the quantised file: in graph order, 64-byte aligned. */
function layout(found: readonly Linear[]): { b: number; scales: number }[] {
  const align = (x: number) => Math.ceil(x / 64) * 64;
  let at = 0;
  return found.map(({ n, k }) => {
    const blocks = Math.ceil(k / BLOCK);
    const b = at;
    const scales = align(b + n * blocks * BLOCK);
    at = align(scales + n * blocks * 4);
    return { b, scales };
  });
}

async function writeQuantized(file: string, found: readonly Linear[], dir: string | undefined): Promise<void> {
  const out = await open(file, 'w');
  try {
    const places = layout(found);
    await eachQuantized(found, dir, async (q, i) => {
      await out.write(q.data, 0, q.data.byteLength, places[i]!.b);
      await out.write(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength), 0, q.scales.byteLength, places[i]!.scales);
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
  const names = found.map((l) => ({ b: `${l.weight.name}.int8`, scales: `${l.weight.name}.int8_scales` }));
  const dims = (l: Linear) => ({ b: [l.n, Math.ceil(l.k / BLOCK), BLOCK], scales: [l.n * Math.ceil(l.k / BLOCK)] });
  let quantized: TensorProto[];
  let root = weightsDir;
  if (modelsDir) {
    const weights = new Map(found.map((l) => [l.weight.name!, { proto: l.weight, dir: weightsDir }]));
    const key = convertedKey(await weightsIdentity(weights, modelsDir), { int8: INT8_VERSION, block: BLOCK, layers: found.map((l) => [l.n, l.k]) });
    const dir = await ensureConverted(modelsDir, key, (d) => writeQuantized(path.join(d, FILE), found, weightsDir));
    root = commonDir(weightsDir ? [dir, weightsDir] : [dir]);
    const file = relativeFile(root, path.join(dir, FILE));
    const places = layout(found);
    quantized = found.flatMap((l, i) => {
      const { n, k } = l;
      const bytes = n * Math.ceil(k / BLOCK);
      return [
        tensorToProto(names[i]!.b, { dtype: 'uint8', dims: dims(l).b, external: { file, offset: places[i]!.b, length: bytes * BLOCK } }),
        tensorToProto(names[i]!.scales, { dtype: 'float32', dims: dims(l).scales, external: { file, offset: places[i]!.scales, length: bytes * 4 } }),
      ];
    });
  } else {
    const inline: TensorProto[] = [];
    await eachQuantized(found, weightsDir, async (q, i) => {
      const l = found[i]!;
      inline.push(tensorToProto(names[i]!.b, { dtype: 'uint8', dims: dims(l).b, data: q.data.slice() }), tensorToProto(names[i]!.scales, { dtype: 'float32', dims: dims(l).scales, data: q.scales.slice() }));
    });
    quantized = inline;
  }
  const replaced = new Map(found.map((l, i) => [l.gemm, matMulNBits(l, names[i]!.b, names[i]!.scales)]));
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
