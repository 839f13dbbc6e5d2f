// LayerNormalization, GroupNormalization (opset 21, per-channel scale) and InstanceNormalization.
// Each normalises x over some axes of a view of it; the statistics are recomputed from x (cheap
// reductions) rather than kept from the forward node.
import type { Value } from '../../graph-core.ts';
import type { GradContext, GradRule } from '../rule.ts';

interface NormView {
  /** x's shape seen as this view for the statistics ([N, G, C/G·spatial] for group norm). */
  view: number[];
  /** Normalised axes of the view. */
  axes: number[];
  /** scale and bias as they broadcast against x. */
  broadcast(v: Value): Value;
  /** Sums a gradient shaped like x down to scale's (or bias's) shape. */
  reduce(g: Value, i: number): Value;
}

/**
 * With x̂ = (x - mean)·rstd over the view's axes and y = x̂·scale + bias:
 * dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)) with dx̂ = g·scale; dscale = Σ g·x̂; dbias = Σ g.
 */
function normGrad(ctx: GradContext, nv: NormView): (Value | undefined)[] {
  const { b } = ctx;
  const x = ctx.inputs[0]!;
  const sx = ctx.shape(x);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const g = ctx.grad();
  const reshaped = nv.view.join() !== sx.join();
  const toView = (v: Value) => (reshaped ? b.reshape(v, nv.view) : v);
  const fromView = (v: Value) => (reshaped ? b.reshape(v, sx) : v);
  const xv = toView(x);
  const centred = b.sub(xv, b.reduceMean(xv, nv.axes));
  const rstd = b.reciprocal(b.sqrt(b.add(b.reduceMean(b.mul(centred, centred), nv.axes), eps)));
  const xhat = b.mul(centred, rstd);
  let dx: Value | undefined;
  if (ctx.needs(0)) {
    const dxhat = toView(b.mul(g, nv.broadcast(ctx.inputs[1]!)));
    const inner = b.sub(b.sub(dxhat, b.reduceMean(dxhat, nv.axes)), b.mul(xhat, b.reduceMean(b.mul(dxhat, xhat), nv.axes)));
    dx = fromView(b.mul(rstd, inner));
  }
  return [
    dx,
    ctx.needs(1) ? nv.reduce(b.mul(g, fromView(xhat)), 1) : undefined,
    ctx.needs(2) ? nv.reduce(g, 2) : undefined,
  ];
}

const layerNorm: GradRule = (ctx) => {
  const sx = ctx.shape(ctx.inputs[0]);
  const axis = ctx.attrs.int('axis', -1);
  const first = axis < 0 ? axis + sx.length : axis;
  return normGrad(ctx, {
    view: sx,
    axes: sx.slice(first).map((_, i) => first + i),
    broadcast: (v) => v,
    reduce: (g, i) => ctx.sumTo(g, sx, ctx.shape(ctx.inputs[i])),
  });
};

// scale/bias [C] against x [N, C, ...]: as [C, 1, ...]; their gradients sum over batch and space.
function perChannel(ctx: GradContext, view: number[], axes: number[]): NormView {
  const sx = ctx.shape(ctx.inputs[0]);
  const spatial = sx.slice(2).map((_, i) => i + 2);
  return {
    view,
    axes,
    broadcast: (v) => ctx.b.reshape(v, [sx[1]!, ...spatial.map(() => 1)]),
    reduce: (g) => ctx.b.reduceSum(g, [0, ...spatial], false),
  };
}

const groupNorm: GradRule = (ctx) => {
  const sx = ctx.shape(ctx.inputs[0]);
  const groups = ctx.attrs.int('num_groups', 0);
  if (ctx.opset < 21 || ctx.shape(ctx.inputs[1])[0] !== sx[1]) {
    throw new Error(`GroupNormalization gradient needs opset 21's per-channel scale (node ${ctx.node.name})`);
  }
  const per = sx.slice(1).reduce((a, d) => a * d, 1) / groups;
  return normGrad(ctx, perChannel(ctx, [sx[0]!, groups, per], [2]));
};

const instanceNorm: GradRule = (ctx) => {
  const sx = ctx.shape(ctx.inputs[0]);
  return normGrad(ctx, perChannel(ctx, sx, sx.slice(2).map((_, i) => i + 2)));
};

export const normRules = { LayerNormalization: layerNorm, GroupNormalization: groupNorm, InstanceNormalization: instanceNorm };
