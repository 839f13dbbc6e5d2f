// onnxruntime-node 1.30's WebGPU MultiHeadAttention (com.microsoft) computes wrong results on some
// adapters: on Mesa lavapipe it is off by 7e-2 to 2.3e-1 (max abs, unit-normal inputs) from 64 tokens
// up, where the same attention in MatMul/Softmax ops matches the CPU to 3e-7. So before the first SD
// session on a GPU provider, one small fused attention is compared with the CPU; when it differs,
// every fused attention of the SD graphs is rewritten into standard ops (`withoutFusedAttention`).
import { AttributeType, DataType, decodeModel, encodeModel, GraphBuilder, type NodeProto, type TensorProto } from '../onnx/index.ts';
import { ort } from '../session/ort.ts';
import { createSession, ensureProviderChoice } from '../session/providers.ts';
import { Rng } from '../../runtime/rng.ts';

export interface FusedAttentionCheck {
  /** Whether the SD graphs keep com.microsoft MultiHeadAttention on this process's provider. */
  fused: boolean;
  /** The provider checked; the CPU is the reference and is not checked. */
  provider: string;
  /** Max abs difference from the CPU on the probe (absent on the CPU). */
  error?: number;
}

/** Above this, a float32 attention of unit-normal inputs is wrong, not rounded (correct ones: ~1e-6). */
const TOLERANCE = 1e-3;
let checked: Promise<FusedAttentionCheck> | undefined;

/** The process's answer, computed once: the CPU keeps fused attention without a check. */
export function fusedAttentionCheck(): Promise<FusedAttentionCheck> {
  checked ??= check();
  return checked;
}

async function check(): Promise<FusedAttentionCheck> {
  const { provider } = await ensureProviderChoice();
  if (provider === 'cpu') return { fused: true, provider };
  // The shape of a small SD cross-attention: 64 query tokens, 77 keys, 8 heads of 8.
  const [tokens, keys, width, heads] = [64, 77, 64, 8];
  const b = new GraphBuilder({ graphName: 'attention-probe', domains: { 'com.microsoft': 1 } });
  const [q, k, v] = [b.input('q', 'float32', [1, tokens, width]), b.input('k', 'float32', [1, keys, width]), b.input('v', 'float32', [1, keys, width])];
  b.output(b.op('MultiHeadAttention', [q, k, v], { num_heads: heads }, { domain: 'com.microsoft' }), 'y');
  const bytes = b.toBytes();
  const rng = new Rng(7);
  const tensor = (n: number) => new ort.Tensor('float32', rng.fillNormal(new Float32Array(n * width)), [1, n, width]);
  const feeds = { q: tensor(tokens), k: tensor(keys), v: tensor(keys) };
  const run = async (executionProviders?: string[]) => {
    const session = await createSession(bytes, executionProviders ? { executionProviders } : {});
    try {
      return (await session.run(feeds)).y!.data as Float32Array; // the graph's one output
    } finally {
      await session.release();
    }
  };
  const [ours, ref] = [await run(), await run(['cpu'])];
  let error = 0;
  for (let i = 0; i < ref.length; i++) error = Math.max(error, Math.abs((ours[i] ?? Number.NaN) - (ref[i] ?? 0)) || Number.POSITIVE_INFINITY);
  const fused = error <= TOLERANCE;
  if (!fused) console.warn(`${provider}: fused attention differs from the CPU by ${error.toExponential(1)}; SD graphs use standard ops for it`);
  return { fused, provider, error };
}

const int64s = (name: string, values: number[]): TensorProto => ({ name, dims: [values.length], dataType: DataType.INT64, int64Data: values });

/**
 * The graph with each com.microsoft MultiHeadAttention(q, k, v) ([B, L, C], `num_heads` h, `scale`)
 * replaced by softmax(q·kᵀ·scale)·v per head in standard ops, the form the trainer's graphs use.
 * Returns the bytes unchanged when the graph has none. The node must carry `scale` (our builder sets it).
 */
export function withoutFusedAttention(model: Uint8Array): Uint8Array {
  const proto = decodeModel(model);
  const graph = proto.graph ?? {};
  const nodes = graph.node ?? [];
  if (!nodes.some(isFused)) return model;
  const initializers = [...(graph.initializer ?? [])];
  const out: NodeProto[] = [];
  let n = 0;
  for (const node of nodes) {
    if (!isFused(node)) {
      out.push(node);
      continue;
    }
    const [q, k, v] = node.input ?? [];
    const [y] = node.output ?? [];
    const heads = node.attribute?.find((a) => a.name === 'num_heads')?.i;
    const scale = node.attribute?.find((a) => a.name === 'scale')?.f;
    if (!q || !k || !v || !y || !heads || !scale) throw new Error(`${node.name}: MultiHeadAttention needs q, k, v, num_heads and scale to be rewritten`);
    const p = `${node.name ?? 'attention'}/std${n++}`;
    initializers.push(
      int64s(`${p}/heads_shape`, [0, 0, Number(heads), -1]),
      int64s(`${p}/merged_shape`, [0, 0, -1]),
      { name: `${p}/scale`, dims: [], dataType: DataType.FLOAT, floatData: [scale] },
    );
    const op = (opType: string, inputs: string[], attrs: NodeProto['attribute'] = []): string => {
      const name = `${p}/${opType}${out.length}`;
      out.push({ name, opType, input: inputs, output: [`${name}:0`], attribute: attrs });
      return `${name}:0`;
    };
    const perm = (ints: number[]) => [{ name: 'perm', type: AttributeType.INTS, ints }];
    const heads4 = (x: string, order: number[]) => op('Transpose', [op('Reshape', [x, `${p}/heads_shape`])], perm(order));
    const scores = op('Mul', [op('MatMul', [heads4(q, [0, 2, 1, 3]), heads4(k, [0, 2, 3, 1])]), `${p}/scale`]);
    const mixed = op('MatMul', [op('Softmax', [scores], [{ name: 'axis', type: AttributeType.INT, i: -1 }]), heads4(v, [0, 2, 1, 3])]);
    const merged = op('Transpose', [mixed], perm([0, 2, 1, 3]));
    out.push({ name: `${p}/Reshape_out`, opType: 'Reshape', input: [merged, `${p}/merged_shape`], output: [y] });
  }
  return encodeModel({ ...proto, graph: { ...graph, node: out, initializer: initializers } });
}

function isFused(node: NodeProto): boolean {
  return node.opType === 'MultiHeadAttention' && node.domain === 'com.microsoft';
}
