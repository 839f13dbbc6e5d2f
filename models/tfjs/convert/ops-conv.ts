// Convolutions and pools. ONNX wants NCHW for these, so each is wrapped in a Transpose pair
// (ORT's transpose optimiser cancels the pairs between consecutive convolutions).
import type { HostTensor } from '../../onnx/index.ts';
import { attrInt, attrInts, attrString } from '../attrs.ts';
import type { TfNode } from '../model-json.ts';
import { activation, fusedOps } from './activation.ts';
import type { ConversionContext, Tensor } from './context.ts';
import { convFilter, convTransposeFilter, depthwiseFilter } from './filters.ts';

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** ONNX auto_pad or explicit pads [top, left, bottom, right]. */
  pad: { autoPad: 'SAME_UPPER' | 'VALID' } | { pads: number[] };
}

function checkNhwc(node: TfNode): void {
  const format = attrString(node, 'data_format', 'NHWC');
  if (format !== 'NHWC') throw new Error(`${node.op} ${node.name}: data_format ${format} is not supported`);
}

function hw(values: number[], node: TfNode, key: string): [number, number] {
  if (values.length !== 4 || values[0] !== 1 || values[3] !== 1) throw new Error(`${node.op} ${node.name}: unsupported ${key} [${values}]`);
  return [values[1]!, values[2]!];
}

function window(node: TfNode, kernel: [number, number]): Window {
  checkNhwc(node);
  const strides = hw(attrInts(node, 'strides'), node, 'strides');
  const dilations = hw(attrInts(node, 'dilations', [1, 1, 1, 1]), node, 'dilations');
  const padding = attrString(node, 'padding');
  if (padding === 'SAME') return { kernel, strides, dilations, pad: { autoPad: 'SAME_UPPER' } };
  if (padding === 'VALID') return { kernel, strides, dilations, pad: { autoPad: 'VALID' } };
  if (padding === 'EXPLICIT') {
    const p = attrInts(node, 'explicit_paddings'); // [n0, n1, h0, h1, w0, w1, c0, c1]
    return { kernel, strides, dilations, pad: { pads: [p[2]!, p[4]!, p[3]!, p[5]!] } };
  }
  throw new Error(`${node.op} ${node.name}: unsupported padding ${padding}`);
}

function outSize(size: number, w: Window, axis: 0 | 1): number {
  if (size < 0) return -1;
  const k = (w.kernel[axis] - 1) * w.dilations[axis] + 1;
  const s = w.strides[axis];
  if ('pads' in w.pad) return Math.floor((size + w.pad.pads[axis]! + w.pad.pads[axis + 2]! - k) / s) + 1;
  return w.pad.autoPad === 'SAME_UPPER' ? Math.ceil(size / s) : Math.ceil((size - k + 1) / s);
}

function windowAttrs(w: Window) {
  return {
    kernelShape: w.kernel,
    strides: w.strides,
    dilations: w.dilations,
    ...('pads' in w.pad ? { pads: w.pad.pads } : { autoPad: w.pad.autoPad }),
  };
}

function filterOf(ctx: ConversionContext, node: TfNode): HostTensor {
  const f = ctx.constantInput(node, 1);
  if (!f || f.dtype !== 'float32' || f.dims.length !== 4) throw new Error(`${node.op} ${node.name}: filter must be a 4-D float constant`);
  return f;
}

/** Conv2D, DepthwiseConv2dNative and their fused forms. */
export function convolution(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const x = ctx.input(node, 0);
  const f = filterOf(ctx, node);
  const depthwise = node.op.includes('Depthwise');
  const fused = node.op.startsWith('_Fused') || node.op.startsWith('Fused') ? fusedOps(node) : { bias: false };
  const [h, w, inC, m] = f.dims;
  const outC = depthwise ? inC! * m! : m;
  const win = window(node, [h!, w!]);
  const weight = ctx.weight(`${node.name}/weight`, depthwise ? depthwiseFilter(f) : convFilter(f));
  const bias = fused.bias ? ctx.input(node, 2).value : undefined;
  const y = b.conv(b.transpose(x.value, TO_NCHW), weight, bias, { ...windowAttrs(win), group: depthwise ? inC : undefined });
  let out = b.transpose(y, TO_NHWC);
  if (fused.activation) {
    const alpha = fused.activation === 'Prelu' ? ctx.input(node, fused.bias ? 3 : 2).value : undefined;
    out = activation(ctx, fused.activation, out, node, alpha);
  }
  const [n, ih, iw] = x.shape;
  return { value: out, shape: [n!, outSize(ih!, win, 0), outSize(iw!, win, 1), outC!] };
}

/** MaxPool / AvgPool (TF's SAME average excludes the padding, as ONNX's count_include_pad=0 does). */
export function pool(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const x = ctx.input(node, 0);
  const win = window(node, hw(attrInts(node, 'ksize'), node, 'ksize'));
  const opts = { kernelShape: win.kernel, strides: win.strides, ...('pads' in win.pad ? { pads: win.pad.pads } : { autoPad: win.pad.autoPad }) };
  const nchw = b.transpose(x.value, TO_NCHW);
  const y = node.op === 'MaxPool' ? b.maxPool(nchw, opts) : b.averagePool(nchw, opts);
  const [n, ih, iw, c] = x.shape;
  return { value: b.transpose(y, TO_NHWC), shape: [n!, outSize(ih!, win, 0), outSize(iw!, win, 1), c!] };
}

/**
 * Conv2DBackpropInput(output_shape, filter, x) = ConvTranspose. The forward conv's padding decides
 * where outputs start; pads are given explicitly so the result is exactly `output_shape`.
 */
export function convTranspose(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const outShape = ctx.staticInts(node, 0);
  const f = filterOf(ctx, node);
  const x = ctx.input(node, 2);
  const [kh, kw, outC] = f.dims;
  const win = window(node, [kh!, kw!]);
  if (win.dilations[0] !== 1 || win.dilations[1] !== 1) throw new Error(`${node.op} ${node.name}: dilated transpose convolution`);
  const pads: number[] = [0, 0, 0, 0];
  const outputPadding: number[] = [0, 0];
  for (const axis of [0, 1] as const) {
    const inSize = x.shape[1 + axis]!;
    const size = outShape[1 + axis]!;
    const k = win.kernel[axis];
    const s = win.strides[axis];
    if (inSize < 0) throw new Error(`${node.op} ${node.name}: input size must be known`);
    let begin = 0;
    if ('pads' in win.pad) begin = win.pad.pads[axis]!;
    else if (win.pad.autoPad === 'SAME_UPPER') begin = Math.floor(Math.max((Math.ceil(size / s) - 1) * s + k - size, 0) / 2);
    // ONNX size = s*(in-1) + output_padding + k - begin - end.
    const end = s * (inSize - 1) + k - begin - size;
    pads[axis] = begin;
    if (end >= 0) pads[axis + 2] = end;
    else outputPadding[axis] = -end;
  }
  const weight = ctx.weight(`${node.name}/weight`, convTransposeFilter(f));
  const y = b.convTranspose(b.transpose(x.value, TO_NCHW), weight, undefined, {
    kernelShape: win.kernel, strides: win.strides, pads,
    outputPadding: outputPadding.some((p) => p > 0) ? outputPadding : undefined,
  });
  return { value: b.transpose(y, TO_NHWC), shape: [x.shape[0]!, outShape[1]!, outShape[2]!, outC!] };
}

/** DepthToSpace: TF's NHWC layout is ONNX's DCR mode. */
export function depthToSpace(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  checkNhwc(node);
  const x = ctx.input(node, 0);
  const bs = attrInt(node, 'block_size');
  const y = b.op('DepthToSpace', [b.transpose(x.value, TO_NCHW)], { blocksize: bs, mode: 'DCR' });
  const [n, h, w, c] = x.shape;
  const scale = (v: number) => (v < 0 ? -1 : v * bs);
  return { value: b.transpose(y, TO_NHWC), shape: [n!, scale(h!), scale(w!), c! < 0 ? -1 : c! / (bs * bs)] };
}
