import { GraphBuilder, type HostTensor } from '../onnx/index.ts';
import { ort, type OrtSession } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';
import { toF32 } from './parse.ts';
import { isConstant, scheduleChanges } from './schedule.ts';
import { rankOf } from './schema.ts';
import type { LoraStack } from './stack.ts';

// Rows per Gemm call: about 1 MiB of output. The binding returns outputs as fresh copies; at this size
// they stay in cache, where one large output would cost a page-faulting copy of the whole weight.
const CHUNK_ELEMENTS = 1 << 18;

let gemm: Promise<OrtSession> | undefined;

/** One session computing Y = U·D + W (Gemm with C), all dimensions dynamic: MLAS does the FLOPs. */
function gemmSession(): Promise<OrtSession> {
  if (!gemm) {
    const b = new GraphBuilder({ graphName: 'lora-bake' });
    const u = b.input('u', 'float32', ['rows', 'rank']);
    const d = b.input('d', 'float32', ['rank', 'cols']);
    const w = b.input('w', 'float32', ['rows', 'cols']);
    b.output(b.op('Gemm', [u, d, w]), 'y', 'float32');
    // Threads sleep between runs instead of spinning: the JS copying between runs needs the cores.
    gemm = createSession(b.toBytes(), { extra: { session: { intra_op: { allow_spinning: '0' } } } });
  }
  return gemm;
}

/** Throws when an entry's schedule changes its weight per step: a bake holds one weight. */
export function assertBakeable(stack: LoraStack): void {
  const scheduled = stack.entries.find((e) => !isConstant(e.schedule));
  if (scheduled) {
    throw new Error(
      `LoRA "${scheduled.lora.name}": its schedule (${scheduleChanges(scheduled.schedule).join(', ')}) changes its weight per step, ` +
        'which baking cannot keep: reset start, end, ramp and values on its "LoRA stack" node, or give the stack to the sampler unbaked',
    );
  }
}

/**
 * Merged weights W + Σ w·(alpha/rank)·block·up@down for every module the stack adapts, keyed by
 * checkpoint key (`<module>.weight`), as new float32 tensors (the base weights are not touched). Conv
 * modules merge through their flattened [out, in·kh·kw] form. Per-step schedules cannot be baked.
 */
export async function bakeStack(
  stack: LoraStack, read: (key: string) => HostTensor | Promise<HostTensor>,
): Promise<Map<string, HostTensor>> {
  const merged = new Map<string, HostTensor>();
  for await (const [key, tensor] of bakeModules(stack, read)) merged.set(key, tensor);
  return merged;
}

/** `bakeStack` one module at a time, in `stack.modules()` order, so a writer can keep one in memory. */
export async function* bakeModules(
  stack: LoraStack, read: (key: string) => HostTensor | Promise<HostTensor>,
): AsyncGenerator<[string, HostTensor]> {
  assertBakeable(stack);
  const session = await gemmSession();
  for (const { module, parts } of stack.modules()) {
    const key = `${module.ldm}.weight`;
    const base = await read(key);
    const w = toF32(base, 'base model', key).data;
    const rows = module.shape[0]!;
    const cols = w.length / rows;
    const rank = parts.reduce((s, p) => s + rankOf(p.module), 0);
    // U [rows, R]: the scaled ups side by side; D [R, cols]: the downs stacked.
    const u = new Float32Array(rows * rank);
    const d = new Float32Array(rank * cols);
    let offset = 0;
    for (const { module: m, factor } of parts) {
      const r = rankOf(m);
      for (let o = 0; o < rows; o++) for (let j = 0; j < r; j++) u[o * rank + offset + j] = factor * m.up.data[o * r + j]!;
      d.set(m.down.data, offset * cols);
      offset += r;
    }
    yield [key, { dtype: 'float32', dims: [...base.dims], data: await gemmRows(session, u, d, w, rows, rank, cols) }];
  }
}

async function gemmRows(session: OrtSession, u: Float32Array, d: Float32Array, w: Float32Array, rows: number, rank: number, cols: number): Promise<Float32Array> {
  const out = new Float32Array(rows * cols);
  const dTensor = new ort.Tensor('float32', d, [rank, cols]);
  const step = Math.max(1, Math.floor(CHUNK_ELEMENTS / cols));
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const { y } = await session.run({
      u: new ort.Tensor('float32', u.subarray(r0 * rank, (r0 + n) * rank), [n, rank]),
      d: dTensor,
      w: new ort.Tensor('float32', w.subarray(r0 * cols, (r0 + n) * cols), [n, cols]),
    });
    out.set(y!.data as Float32Array, r0 * cols);
  }
  return out;
}
