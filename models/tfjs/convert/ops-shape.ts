// Shape ops on NHWC tensors. Their shape/axes arguments must be constants: the models we convert
// have static spatial sizes, and static arguments keep the ONNX graph free of shape arithmetic.
import { attrInt, attrInts, attrString } from '../attrs.ts';
import type { TfNode } from '../model-json.ts';
import type { ConversionContext, Shape, Tensor } from './context.ts';

const BIG = 2 ** 31 - 1;

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function known(shape: Shape): boolean {
  return shape.every((d) => d >= 0);
}

export function reshape(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  const target = ctx.staticInts(node, 1);
  let shape = [...target];
  const free = target.indexOf(-1);
  if (free >= 0) {
    const total = x.shape.reduce((a, b) => a * b, 1);
    const rest = target.reduce((a, b, i) => (i === free ? a : a * b), 1);
    shape[free] = known(x.shape) ? total / rest : -1;
  }
  if (target.includes(0)) throw new Error(`Reshape ${node.name}: zero-size dimension`);
  return { value: ctx.builder.reshape(x.value, target), shape };
}

export function squeeze(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  let axes = attrInts(node, 'squeeze_dims', attrInts(node, 'axis', [])).map((a) => normAxis(a, x.shape.length));
  if (axes.length === 0) {
    if (!known(x.shape)) throw new Error(`Squeeze ${node.name}: squeezing all unit axes needs a known shape`);
    axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  }
  return { value: ctx.builder.squeeze(x.value, axes), shape: x.shape.filter((_, i) => !axes.includes(i)) };
}

export function expandDims(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  const [raw] = ctx.staticInts(node, 1);
  const axis = raw! < 0 ? raw! + x.shape.length + 1 : raw;
  const shape = [...x.shape];
  shape.splice(axis!, 0, 1);
  return { value: ctx.builder.unsqueeze(x.value, [axis!]), shape };
}

export function concat(ctx: ConversionContext, node: TfNode): Tensor {
  const n = ctx.inputCount(node) - 1;
  const parts = Array.from({ length: n }, (_, i) => ctx.input(node, i));
  const axis = normAxis(ctx.staticInts(node, n)[0]!, parts[0]!.shape.length);
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.some((p) => p.shape[axis]! < 0) ? -1 : parts.reduce((s, p) => s + p.shape[axis]!, 0);
  return { value: ctx.builder.concat(parts.map((p) => p.value), axis), shape };
}

/** Pack = stack: unsqueeze each input at `axis`, then concatenate. */
export function pack(ctx: ConversionContext, node: TfNode): Tensor {
  const n = ctx.inputCount(node);
  const parts = Array.from({ length: n }, (_, i) => ctx.input(node, i));
  const rank = parts[0]!.shape.length + 1;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const b = ctx.builder;
  const shape = [...parts[0]!.shape];
  shape.splice(axis, 0, n);
  return { value: b.concat(parts.map((p) => b.unsqueeze(p.value, [axis])), axis), shape };
}

export function pad(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  const p = ctx.staticInts(node, 1);
  const rank = x.shape.length;
  const begins = Array.from({ length: rank }, (_, i) => p[2 * i]!);
  const ends = Array.from({ length: rank }, (_, i) => p[2 * i + 1]!);
  let mode: 'constant' | 'reflect' = 'constant';
  let value: number | undefined;
  if (node.op === 'MirrorPad') {
    if (attrString(node, 'mode') !== 'REFLECT') throw new Error(`MirrorPad ${node.name}: only REFLECT is supported`);
    mode = 'reflect';
  } else if (node.op === 'PadV2') {
    value = ctx.staticInts(node, 2)[0];
  }
  const shape = x.shape.map((d, i) => (d < 0 ? -1 : d + begins[i]! + ends[i]!));
  return { value: ctx.builder.pad(x.value, [...begins, ...ends], { mode, value }), shape };
}

export function transpose(ctx: ConversionContext, node: TfNode): Tensor {
  const x = ctx.input(node, 0);
  const perm = ctx.staticInts(node, 1);
  return { value: ctx.builder.transpose(x.value, perm), shape: perm.map((p) => x.shape[p]!) };
}

function bit(mask: number, i: number): boolean {
  return ((mask >> i) & 1) === 1;
}

/** StridedSlice with all five masks, as Slice + Squeeze (shrink) + Unsqueeze (new axes). */
export function stridedSlice(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const x = ctx.input(node, 0);
  const begin = ctx.staticInts(node, 1);
  const end = ctx.staticInts(node, 2);
  const strides = ctx.staticInts(node, 3);
  const [beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask] =
    ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => attrInt(node, k, 0));
  const rank = x.shape.length;
  const specs = begin.length;
  const real = Array.from({ length: specs }, (_, i) => i).filter((i) => !bit(ellipsisMask!, i) && !bit(newAxisMask!, i)).length;

  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const steps: number[] = [];
  const squeezeAxes: number[] = [];
  const out: ('new' | number)[] = []; // final dims: 'new' or an input axis that is kept
  const sizes = new Map<number, number>();
  let axis = 0;
  for (let i = 0; i < specs; i++) {
    if (bit(ellipsisMask!, i)) {
      for (let k = 0; k < rank - real; k++) out.push(axis++);
      continue;
    }
    if (bit(newAxisMask!, i)) {
      out.push('new');
      continue;
    }
    const step = strides[i]!;
    const dim = x.shape[axis]!;
    let s: number;
    let e: number;
    if (bit(shrinkMask!, i)) {
      s = begin[i]!;
      e = s === -1 ? BIG : s + 1;
      squeezeAxes.push(axis);
    } else {
      s = (bit(beginMask!, i) ? (step > 0 ? 0 : -1) : begin[i])!;
      e = (bit(endMask!, i) ? (step > 0 ? BIG : -BIG) : end[i])!;
      out.push(axis);
      if (dim >= 0) sizes.set(axis, sliceLength(dim, s, e, step));
    }
    starts.push(s);
    ends.push(e);
    axes.push(axis);
    steps.push(step);
    axis++;
  }
  while (axis < rank) out.push(axis++);

  let value = axes.length ? b.slice(x.value, starts, ends, axes, steps) : x.value;
  if (squeezeAxes.length) value = b.squeeze(value, squeezeAxes);
  const newAxes = out.flatMap((d, i) => (d === 'new' ? [i] : []));
  if (newAxes.length) value = b.unsqueeze(value, newAxes);
  const shape = out.map((d) => (d === 'new' ? 1 : sizes.get(d) ?? x.shape[d]!));
  return { value, shape };
}

// Python-style slice length with clamping, as both TF and ONNX compute it.
function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + dim : v);
  if (step > 0) {
    const s = clamp(norm(start), 0, dim);
    const e = clamp(norm(end), 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  const s = clamp(norm(start), -1, dim - 1);
  const e = clamp(norm(end), -1, dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}
