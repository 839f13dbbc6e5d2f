// ReduceSum and ReduceMean: the gradient is spread back over the reduced axes (divided by their
// size for the mean). Axes come from the input (newer opsets) or the attribute (older ones).
import type { GradContext, GradRule } from '../rule.ts';

function reducedAxes(ctx: GradContext): number[] | undefined {
  const rank = ctx.shape(ctx.inputs[0]).length;
  const given = ctx.inputs[1] ? ctx.constInts(1) : ctx.attrs.ints('axes', []);
  if (!given) throw new Error(`${ctx.node.opType} gradient needs constant axes (node ${ctx.node.name})`);
  if (given.length === 0) return ctx.attrs.int('noop_with_empty_axes', 0) ? undefined : [...Array(rank).keys()];
  return given.map((a) => (a < 0 ? a + rank : a));
}

function spread(mean: boolean): GradRule {
  return (ctx) => {
    const { b } = ctx;
    const sx = ctx.shape(ctx.inputs[0]);
    const axes = reducedAxes(ctx);
    if (!axes) return [ctx.grad()];
    const kept = sx.map((d, i) => (axes.includes(i) ? 1 : d));
    const g = b.expand(b.reshape(ctx.grad(), kept), sx);
    const count = axes.reduce((n, a) => n * sx[a]!, 1);
    return [mean ? b.mul(g, 1 / count) : g];
  };
}

export const reduceRules = { ReduceSum: spread(false), ReduceMean: spread(true) };
