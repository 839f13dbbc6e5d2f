// MatMul (numpy batching) and Gemm (2-D with transposes, alpha, beta and a broadcast C).
import type { Value } from '../../graph-core.ts';
import type { GradContext, GradRule } from '../rule.ts';

/** Swaps the last two axes. */
function swapLast(ctx: GradContext, x: Value, rank: number): Value {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return ctx.b.transpose(x, perm);
}

// dA = g·Bᵀ, dB = Aᵀ·g, each summed over the batch axes its operand was broadcast along. A 2-D B under
// a batched A (every linear layer) gets dB as one [K, rows]·[rows, N] product over the flattened rows.
const matMul: GradRule = (ctx) => {
  const { b } = ctx;
  const [x, w] = ctx.inputs as Value[];
  const [sx, sw, sy] = [ctx.shape(x), ctx.shape(w), ctx.shape(ctx.outputs[0])];
  if (sx.length < 2 || sw.length < 2) throw new Error(`MatMul gradient: 1-D operands are not supported (node ${ctx.node.name})`);
  const g = ctx.grad();
  const batch = sy.slice(0, -2);
  let dx: Value | undefined;
  let dw: Value | undefined;
  if (ctx.needs(0)) {
    dx = ctx.sumTo(b.matMul(g, swapLast(ctx, w!, sw.length)), [...batch, sx.at(-2)!, sx.at(-1)!], sx);
  }
  if (ctx.needs(1)) {
    dw = sw.length === 2 && sx.length > 2
      ? b.gemm(b.reshape(x!, [-1, sx.at(-1)!]), b.reshape(g, [-1, sy.at(-1)!]), undefined, { transA: true })
      : ctx.sumTo(b.matMul(swapLast(ctx, x!, sx.length), g), [...batch, sw.at(-2)!, sw.at(-1)!], sw);
  }
  return [dx, dw];
};

// Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (and B' likewise). dA' = alpha·g·B'ᵀ, dB' = alpha·A'ᵀ·g;
// each product is arranged so Gemm's own transpose flags do the work and dA/dB come out in A/B's layout.
const gemm: GradRule = (ctx) => {
  const { b } = ctx;
  const [x, w] = ctx.inputs as Value[];
  const transA = ctx.attrs.int('transA', 0) === 1;
  const transB = ctx.attrs.int('transB', 0) === 1;
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const g = ctx.grad();
  const scaled = { alpha };
  const dx = !ctx.needs(0) ? undefined
    : !transA ? b.gemm(g, w!, undefined, { ...scaled, transB: !transB })
    : b.gemm(w!, g, undefined, { ...scaled, transA: transB, transB: true });
  const dw = !ctx.needs(1) ? undefined
    : !transB ? b.gemm(x!, g, undefined, { ...scaled, transA: !transA })
    : b.gemm(g, x!, undefined, { ...scaled, transA: true, transB: transA });
  const dc = ctx.needs(2) ? ctx.reduceTo(beta === 1 ? g : b.mul(g, beta), 2) : undefined;
  return [dx, dw, dc];
};

export const matmulRules = { MatMul: matMul, Gemm: gemm };
