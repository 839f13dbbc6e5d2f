// Matrix products, reductions, softmax and image resizing.
import { attrBool } from '../attrs.ts';
import type { TfNode } from '../model-json.ts';
import { activation, fusedOps } from './activation.ts';
import type { ConversionContext, Tensor } from './context.ts';
import { normAxis } from './ops-shape.ts';

/** MatMul, BatchMatMulV2 and _FusedMatMul (bias and activation folded in). */
export function matMul(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const batched = node.op.startsWith('BatchMatMul');
  const ta = attrBool(node, batched ? 'adj_x' : 'transpose_a', false);
  const tb = attrBool(node, batched ? 'adj_y' : 'transpose_b', false);
  const x = ctx.input(node, 0);
  const y = ctx.input(node, 1);
  const swap = (shape: number[]) => [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!];
  const lastTwo = (rank: number) => [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const xs = ta ? swap(x.shape) : x.shape;
  const ys = tb ? swap(y.shape) : y.shape;
  let value = b.op('MatMul', [
    ta ? b.transpose(x.value, lastTwo(x.shape.length)) : x.value,
    tb ? b.transpose(y.value, lastTwo(y.shape.length)) : y.value,
  ]);
  const shape = [...xs.slice(0, -1), ys.at(-1)!];
  if (node.op === '_FusedMatMul') {
    const fused = fusedOps(node);
    if (fused.bias) value = b.add(value, ctx.input(node, 2).value);
    if (fused.activation) {
      const alpha = fused.activation === 'Prelu' ? ctx.input(node, fused.bias ? 3 : 2).value : undefined;
      value = activation(ctx, fused.activation, value, node, alpha);
    }
  }
  return { value, shape };
}

export function reduce(ctx: ConversionContext, node: TfNode): Tensor {
  const ops: Record<string, string> = { Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin', Prod: 'ReduceProd' };
  const x = ctx.input(node, 0);
  const axes = ctx.staticInts(node, 1).map((a) => normAxis(a, x.shape.length));
  const keep = attrBool(node, 'keep_dims', false);
  const value = ctx.builder.reduce(ops[node.op]!, x.value, axes, keep);
  const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return { value, shape };
}

export function softmax(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  return { value: ctx.builder.softmax(x.value, -1), shape: x.shape };
}

/**
 * ResizeBilinear on NHWC: ONNX Resize with 4-D sizes [N, h, w, C], so no layout change is needed
 * (scales round differently in ORT's shape inference; sizes with axes [1, 2] trip its transpose
 * optimiser). half_pixel_centers -> half_pixel, align_corners -> align_corners, else asymmetric.
 */
export function resizeBilinear(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const x = ctx.input(node, 0);
  const [h, w] = ctx.staticInts(node, 1);
  const [n, , , c] = x.shape;
  const sizes = n! >= 0 && c! >= 0
    ? b.ints([n!, h!, w!, c!])
    : b.concat([b.shape(x.value, 0, 1), b.ints([h!, w!]), b.shape(x.value, 3, 4)], 0);
  const alignCorners = attrBool(node, 'align_corners', false);
  const halfPixel = attrBool(node, 'half_pixel_centers', false);
  const value = b.resize(x.value, {
    sizes,
    mode: 'linear',
    coordinateTransformationMode: alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric',
  });
  return { value, shape: [n!, h!, w!, c!] };
}
