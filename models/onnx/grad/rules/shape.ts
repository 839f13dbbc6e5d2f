// Ops that move elements without arithmetic: the gradient moves back the same way. Shapes are the
// concrete ones of the probe, so every reshape target, split size and pad is a constant.
import { at } from '../../../../protocol/index.ts';
import type { GradRule } from '../rule.ts';

const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

// Reshape, Flatten, Squeeze, Unsqueeze: same elements, same order.
const reshapeBack: GradRule = (ctx) => [ctx.b.reshape(ctx.grad(), ctx.shape(ctx.inputs[0]))];

const transpose: GradRule = (ctx) => {
  const rank = ctx.shape(ctx.inputs[0]).length;
  const perm = ctx.attrs.ints('perm', [...Array(rank).keys()].reverse());
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.b.transpose(ctx.grad(), inverse)];
};

const concat: GradRule = (ctx) => {
  const rank = ctx.shape(ctx.outputs[0]).length;
  const axis = axisOf(ctx.attrs.int('axis', 0), rank);
  const sizes = ctx.inputs.map((x) => at(ctx.shape(x), axis, 'axis'));
  const pieces = ctx.b.split(ctx.grad(), axis, sizes);
  return pieces.map((p, i) => (ctx.needs(i) ? p : undefined));
};

// Pieces that do not reach the loss contribute zeros.
const split: GradRule = (ctx) => {
  const rank = ctx.shape(ctx.inputs[0]).length;
  const axis = axisOf(ctx.attrs.int('axis', 0), rank);
  const pieces = ctx.outputs.map((o, i) => (ctx.hasGrad(i) ? ctx.grad(i) : ctx.zeros(o)));
  return [ctx.b.concat(pieces, axis)];
};

// Steps of 1 only: the gradient is the output's gradient padded with zeros back to the input's extent.
const slice: GradRule = (ctx) => {
  const sx = ctx.shape(ctx.inputs[0]);
  const sy = ctx.shape(ctx.outputs[0]);
  const starts = ctx.constInts(1);
  const axes = ctx.inputs[3] ? ctx.constInts(3) : starts && starts.map((_, i) => i);
  const steps = ctx.inputs[4] ? ctx.constInts(4) : undefined;
  if (!starts || !axes) throw new Error(`Slice gradient needs constant starts and axes (node ${ctx.node.name})`);
  if (steps?.some((s) => s !== 1)) throw new Error(`Slice gradient: only steps of 1 are supported (node ${ctx.node.name})`);
  const rank = sx.length;
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    const axis = axisOf(a, rank);
    const dim = sx[axis]!;
    const start = Math.min(Math.max((starts[i]! < 0 ? starts[i]! + dim : starts[i])!, 0), dim);
    pads[axis] = start;
    pads[axis + rank] = dim - start - sy[axis]!;
  });
  return [ctx.b.pad(ctx.grad(), pads)];
};

const expand: GradRule = (ctx) => [ctx.reduceTo(ctx.grad(), 0)];

/**
 * Nearest-neighbour upsampling by whole factors copies each input element into a block of the output
 * (for half_pixel with round_* nearest modes and for asymmetric with floor): the gradient sums each block.
 */
const resize: GradRule = (ctx) => {
  const mode = ctx.attrs.string('mode', 'nearest');
  const coords = ctx.attrs.string('coordinate_transformation_mode', 'half_pixel');
  const nearest = ctx.attrs.string('nearest_mode', 'round_prefer_floor');
  const sx = ctx.shape(ctx.inputs[0]);
  const sy = ctx.shape(ctx.outputs[0]);
  const factors = sy.map((d, i) => d / sx[i]!);
  const blocky = mode === 'nearest' && factors.every(Number.isInteger) && (
    ((coords === 'half_pixel' || coords === 'pytorch_half_pixel') && nearest.startsWith('round_'))
    || (coords === 'asymmetric' && nearest === 'floor'));
  if (!blocky) {
    throw new Error(`Resize gradient: only nearest upsampling by whole factors is supported, not ${mode}/${coords}/${nearest} x[${factors}] (node ${ctx.node.name})`);
  }
  const { b } = ctx;
  const interleaved = sx.flatMap((d, i) => [d, at(factors, i, 'factor')]);
  const blockAxes = sx.map((_, i) => 2 * i + 1);
  return [b.reduceSum(b.reshape(ctx.grad(), interleaved), blockAxes, false)];
};

export const shapeRules: Record<string, GradRule> = {
  Reshape: reshapeBack, Flatten: reshapeBack, Squeeze: reshapeBack, Unsqueeze: reshapeBack,
  Transpose: transpose, Concat: concat, Split: split, Slice: slice, Expand: expand, Resize: resize,
};
