// Conv (any number of spatial axes, explicit pads). dX is the transposed convolution of the gradient;
// dW is itself a convolution with batch and channels swapped (the batch becomes the summed axis).
import type { Value } from '../../graph-core.ts';
import type { GradContext, GradRule } from '../rule.ts';

interface ConvGeometry { spatial: number; kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; group: number }

function geometry(ctx: GradContext): ConvGeometry {
  const w = ctx.shape(ctx.inputs[1]);
  const spatial = w.length - 2;
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new Error(`Conv gradient: auto_pad ${autoPad} is not supported (node ${ctx.node.name})`);
  return {
    spatial,
    kernel: w.slice(2),
    strides: ctx.attrs.ints('strides', Array(spatial).fill(1)),
    dilations: ctx.attrs.ints('dilations', Array(spatial).fill(1)),
    pads: ctx.attrs.ints('pads', Array(2 * spatial).fill(0)),
    group: ctx.attrs.int('group', 1),
  };
}

function inputGrad(ctx: GradContext, geo: ConvGeometry, g: Value): Value {
  const x = ctx.shape(ctx.inputs[0]).slice(2);
  const y = ctx.shape(ctx.outputs[0]).slice(2);
  // Rows the forward conv never reached (stride leftovers) come back as output_padding.
  const outputPadding = x.map((size, i) => {
    const reached = geo.strides[i]! * (y[i]! - 1) + (geo.kernel[i]! - 1) * geo.dilations[i]! + 1 - geo.pads[i]! - geo.pads[i + geo.spatial]!;
    return size - reached;
  });
  return ctx.b.convTranspose(g, ctx.inputs[1]!, undefined, {
    strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group: geo.group,
    kernelShape: geo.kernel, outputPadding,
  });
}

function weightGrad(ctx: GradContext, geo: ConvGeometry, g: Value): Value {
  if (geo.group !== 1) throw new Error(`Conv gradient: weights of grouped convolutions are not supported (node ${ctx.node.name})`);
  const { b } = ctx;
  const swap = [1, 0, ...Array.from({ length: geo.spatial }, (_, i) => i + 2)];
  // dW[o, c, k] = Σ_n,i g[n, o, i] · xpad[n, c, i·stride + k·dilation]: a conv of xᵀ by gᵀ with stride and dilation swapped.
  const full = b.conv(b.transpose(ctx.inputs[0]!, swap), b.transpose(g, swap), undefined, {
    strides: geo.dilations, dilations: geo.strides, pads: geo.pads,
  });
  const axes = geo.kernel.map((_, i) => i + 2);
  const cropped = b.slice(full, geo.kernel.map(() => 0), geo.kernel, axes);
  return b.transpose(cropped, swap);
}

const conv: GradRule = (ctx) => {
  const geo = geometry(ctx);
  const g = ctx.grad();
  const spatialAxes = geo.kernel.map((_, i) => i + 2);
  return [
    ctx.needs(0) ? inputGrad(ctx, geo, g) : undefined,
    ctx.needs(1) ? weightGrad(ctx, geo, g) : undefined,
    ctx.needs(2) ? ctx.b.reduceSum(g, [0, ...spatialAxes], false) : undefined,
  ];
};

export const convRules = { Conv: conv };
