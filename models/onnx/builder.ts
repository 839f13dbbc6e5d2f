// GraphBuilder: typed helpers for the common ONNX ops, so architecture code reads like its config.
// Numbers given where a tensor is expected become scalar constants of the other operand's dtype.
import { arrayFromValues, onnxDataType, type DType } from './dtype.ts';
import { attr, GraphCore, type Dim, type Value } from './graph-core.ts';

export type Operand = Value | number;
/** An int64 1-D input given as numbers (made a shared constant) or as a computed value. */
export type Ints = Value | readonly number[];

export interface ConvOptions {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
  kernelShape?: number[];
  autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: number[];
  outputShape?: number[];
}

export interface PoolOptions {
  kernelShape: number[];
  strides?: number[];
  pads?: number[];
  ceilMode?: boolean;
  autoPad?: ConvOptions['autoPad'];
  /** AveragePool only. */
  countIncludePad?: boolean;
}

export interface ResizeOptions {
  scales?: readonly number[];
  sizes?: Ints;
  mode?: 'nearest' | 'linear' | 'cubic';
  coordinateTransformationMode?: 'half_pixel' | 'half_pixel_symmetric' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_crop_and_resize';
  nearestMode?: 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
  cubicCoeffA?: number;
  antialias?: boolean;
}

export interface GroupNormOptions {
  groups: number;
  epsilon?: number;
  /**
   * 'native' = GroupNormalization (opset 21+, per-channel scale/bias); 'instanceNorm' = Reshape to
   * [N, G, -1], InstanceNormalization, Reshape back, then per-channel scale and bias. Default: native
   * from opset 21, else the decomposition.
   */
  impl?: 'native' | 'instanceNorm';
  /** Rank of x, for broadcasting scale/bias in the decomposition (default x's known rank, else 4). */
  rank?: number;
}

export class GraphBuilder extends GraphCore {
  // ---- elementwise -------------------------------------------------------------------------
  add(a: Operand, b: Operand): Value { return this.binary('Add', a, b); }
  sub(a: Operand, b: Operand): Value { return this.binary('Sub', a, b); }
  mul(a: Operand, b: Operand): Value { return this.binary('Mul', a, b); }
  div(a: Operand, b: Operand): Value { return this.binary('Div', a, b); }
  pow(a: Operand, b: Operand): Value { return this.binary('Pow', a, b); }
  max(a: Operand, b: Operand): Value { return this.binary('Max', a, b); }
  min(a: Operand, b: Operand): Value { return this.binary('Min', a, b); }

  sigmoid(x: Value): Value { return this.unary('Sigmoid', x); }
  tanh(x: Value): Value { return this.unary('Tanh', x); }
  relu(x: Value): Value { return this.unary('Relu', x); }
  erf(x: Value): Value { return this.unary('Erf', x); }
  sqrt(x: Value): Value { return this.unary('Sqrt', x); }
  exp(x: Value): Value { return this.unary('Exp', x); }
  log(x: Value): Value { return this.unary('Log', x); }
  neg(x: Value): Value { return this.unary('Neg', x); }
  abs(x: Value): Value { return this.unary('Abs', x); }
  reciprocal(x: Value): Value { return this.unary('Reciprocal', x); }
  identity(x: Value): Value { return this.unary('Identity', x); }

  /** x * sigmoid(x) (SiLU / swish), as two standard ops. */
  silu(x: Value): Value {
    return this.mul(x, this.sigmoid(x));
  }

  /** GELU; the native Gelu op from opset 20, else the erf/tanh formula. */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
    if (this.opset >= 20) return this.unary('Gelu', x, { approximate });
    if (approximate === 'none') return this.mul(this.mul(x, 0.5), this.add(this.erf(this.div(x, Math.SQRT2)), 1));
    const inner = this.mul(this.add(x, this.mul(this.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return this.mul(this.mul(x, 0.5), this.add(this.tanh(inner), 1));
  }

  clip(x: Value, min?: number, max?: number): Value {
    const bound = (v?: number) => (v === undefined ? null : this.constant(v, x.dtype));
    return this.op('Clip', [x, bound(min), bound(max)], {}, { shape: x.shape });
  }

  where(condition: Value, a: Operand, b: Operand): Value {
    const [x, y] = this.operands(a, b);
    return this.op('Where', [condition, x, y], {}, { dtype: x.dtype ?? y.dtype });
  }

  cast(x: Value, dtype: DType): Value {
    return this.op('Cast', [x], { to: onnxDataType(dtype) }, { dtype, shape: x.shape });
  }

  // ---- linear algebra ----------------------------------------------------------------------
  matMul(a: Value, b: Value): Value {
    const shape = a.shape && b.shape?.length === 2 && a.shape.length >= 2 ? [...a.shape.slice(0, -1), b.shape[1]!] : undefined;
    return this.op('MatMul', [a, b], {}, { shape });
  }

  gemm(a: Value, b: Value, c?: Value, o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    return this.op('Gemm', [a, b, c], {
      transA: o.transA ? 1 : undefined,
      transB: o.transB ? 1 : undefined,
      alpha: o.alpha === undefined ? undefined : attr.float(o.alpha),
      beta: o.beta === undefined ? undefined : attr.float(o.beta),
    });
  }

  /** torch.nn.Linear: x @ weightᵀ + bias with weight [out, in] as stored in checkpoints. */
  linear(x: Value, weight: Value, bias?: Value): Value {
    const y = this.matMul(x, this.transpose(weight, [1, 0]));
    return bias ? this.add(y, bias) : y;
  }

  conv(x: Value, weight: Value, bias?: Value, o: ConvOptions = {}): Value {
    return this.op('Conv', [x, weight, bias], convAttrs(o));
  }

  convTranspose(x: Value, weight: Value, bias?: Value, o: ConvTransposeOptions = {}): Value {
    return this.op('ConvTranspose', [x, weight, bias], { ...convAttrs(o), output_padding: o.outputPadding, output_shape: o.outputShape });
  }

  // ---- shape ---------------------------------------------------------------------------------
  reshape(x: Value, shape: Ints, allowZero = false): Value {
    const known = isNumbers(shape) && shape.every((d) => d > 0) ? shape : undefined;
    return this.op('Reshape', [x, this.intsValue(shape)], { allowzero: allowZero ? 1 : undefined }, { shape: known });
  }

  transpose(x: Value, perm: number[]): Value {
    return this.op('Transpose', [x], { perm }, { shape: x.shape && perm.map((p) => x.shape![p]!) });
  }

  concat(xs: Value[], axis: number): Value {
    return this.op('Concat', xs, { axis });
  }

  slice(x: Value, starts: Ints, ends: Ints, axes?: Ints, steps?: Ints): Value {
    const opt = (v?: Ints) => (v === undefined ? null : this.intsValue(v));
    return this.op('Slice', [x, this.intsValue(starts), this.intsValue(ends), opt(axes), opt(steps)]);
  }

  /** Splits along `axis` into `parts` equal pieces, or pieces of the given sizes. */
  split(x: Value, axis: number, parts: number | readonly number[]): Value[] {
    if (typeof parts !== 'number') return this.opN('Split', [x, this.ints(parts)], parts.length, { axis });
    if (this.opset >= 18) return this.opN('Split', [x], parts, { axis, num_outputs: parts });
    // Before opset 18, equal splits without sizes are only possible with no second input.
    return this.opN('Split', [x], parts, { axis });
  }

  unsqueeze(x: Value, axes: Ints): Value { return this.op('Unsqueeze', [x, this.intsValue(axes)]); }
  squeeze(x: Value, axes?: Ints): Value { return this.op('Squeeze', [x, axes === undefined ? null : this.intsValue(axes)]); }
  flatten(x: Value, axis = 1): Value { return this.op('Flatten', [x], { axis }); }
  expand(x: Value, shape: Ints): Value { return this.op('Expand', [x, this.intsValue(shape)]); }
  tile(x: Value, repeats: Ints): Value { return this.op('Tile', [x, this.intsValue(repeats)]); }

  shape(x: Value, start?: number, end?: number): Value {
    return this.op('Shape', [x], { start, end });
  }

  /** Gather along `axis`; a number index drops the axis (like x[i]), an array keeps it. */
  gather(x: Value, indices: Value | number | readonly number[], axis = 0): Value {
    const idx = typeof indices === 'number' ? this.constant(indices, 'int64') : isNumbers(indices) ? this.ints(indices) : indices;
    return this.op('Gather', [x, idx], { axis });
  }

  pad(x: Value, pads: Ints, o: { mode?: 'constant' | 'reflect' | 'edge' | 'wrap'; value?: number } = {}): Value {
    const value = o.value === undefined ? null : this.constant(o.value, x.dtype);
    return this.op('Pad', [x, this.intsValue(pads), value], { mode: o.mode });
  }

  constantOfShape(shape: Ints, value: number, dtype: DType = 'float32'): Value {
    const tensor = { dtype, dims: [1], data: arrayFromValues(dtype, [value]) };
    return this.op('ConstantOfShape', [this.intsValue(shape)], { value: attr.tensor(tensor) }, { dtype });
  }

  // ---- normalisation and activation ----------------------------------------------------------
  softmax(x: Value, axis = -1): Value {
    return this.unary('Softmax', x, { axis });
  }

  layerNorm(x: Value, scale: Value, bias?: Value, o: { axis?: number; epsilon?: number } = {}): Value {
    return this.op('LayerNormalization', [x, scale, bias], { axis: o.axis, epsilon: attr.float(o.epsilon ?? 1e-5) }, { shape: x.shape });
  }

  instanceNorm(x: Value, scale: Value, bias: Value, epsilon = 1e-5): Value {
    return this.op('InstanceNormalization', [x, scale, bias], { epsilon: attr.float(epsilon) }, { shape: x.shape });
  }

  /** GroupNorm with per-channel scale and bias ([C], as in torch checkpoints). */
  groupNorm(x: Value, scale: Value, bias: Value, o: GroupNormOptions): Value {
    const epsilon = o.epsilon ?? 1e-5;
    const impl = o.impl ?? (this.opset >= 21 ? 'native' : 'instanceNorm');
    if (impl === 'native') {
      if (this.opset < 21) throw new Error('GroupNormalization with per-channel scale needs opset 21+');
      return this.op('GroupNormalization', [x, scale, bias], { num_groups: o.groups, epsilon: attr.float(epsilon) }, { shape: x.shape });
    }
    const rank = o.rank ?? x.shape?.length ?? 4;
    const ones = this.constant(new Array<number>(o.groups).fill(1), x.dtype);
    const zeros = this.constant(new Array<number>(o.groups).fill(0), x.dtype);
    const grouped = this.reshape(x, [0, o.groups, -1]);
    const normed = this.reshape(this.instanceNorm(grouped, ones, zeros, epsilon), this.shape(x));
    // scale/bias [C] -> [C, 1, ...] so they broadcast over the spatial axes.
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    const perChannel = (v: Value) => (spatial.length ? this.unsqueeze(v, spatial) : v);
    const out = this.add(this.mul(normed, perChannel(scale)), perChannel(bias));
    return x.shape ? { ...out, shape: x.shape } : out;
  }

  resize(x: Value, o: ResizeOptions): Value {
    if ((o.scales === undefined) === (o.sizes === undefined)) throw new Error('resize needs exactly one of scales or sizes');
    const scales = o.scales ? this.constant(o.scales, 'float32') : null;
    const sizes = o.sizes ? this.intsValue(o.sizes) : null;
    return this.op('Resize', [x, null, scales, sizes], {
      mode: o.mode,
      coordinate_transformation_mode: o.coordinateTransformationMode,
      nearest_mode: o.nearestMode,
      cubic_coeff_a: o.cubicCoeffA === undefined ? undefined : attr.float(o.cubicCoeffA),
      antialias: o.antialias ? 1 : undefined,
    });
  }

  maxPool(x: Value, o: PoolOptions): Value { return this.op('MaxPool', [x], poolAttrs(o)); }
  averagePool(x: Value, o: PoolOptions): Value {
    return this.op('AveragePool', [x], { ...poolAttrs(o), count_include_pad: o.countIncludePad ? 1 : undefined });
  }
  globalAveragePool(x: Value): Value { return this.op('GlobalAveragePool', [x]); }

  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value { return this.reduce('ReduceMean', x, axes, keepdims); }
  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value { return this.reduce('ReduceSum', x, axes, keepdims); }
  reduceMax(x: Value, axes: readonly number[], keepdims = true): Value { return this.reduce('ReduceMax', x, axes, keepdims); }
  reduceMin(x: Value, axes: readonly number[], keepdims = true): Value { return this.reduce('ReduceMin', x, axes, keepdims); }

  /** Reduce op with axes as an input (ReduceSum from opset 13, the others from 18) or attribute before. */
  reduce(opType: string, x: Value, axes: readonly number[], keepdims = true): Value {
    const axesAsInput = this.opset >= 18 || (opType === 'ReduceSum' && this.opset >= 13);
    const k = keepdims ? 1 : 0;
    return axesAsInput
      ? this.op(opType, [x, this.ints(axes)], { keepdims: k })
      : this.op(opType, [x], { axes: [...axes], keepdims: k });
  }

  /**
   * softmax(q @ kᵀ * scale [+ mask]) @ v with q [.., Lq, D], k/v [.., Lk, D] (standard ops only).
   * `scale` defaults to 1/sqrt(D) and needs D when q's shape is not known.
   */
  attention(q: Value, k: Value, v: Value, o: { scale?: number; mask?: Value } = {}): Value {
    const d = q.shape?.at(-1);
    const scale = o.scale ?? (typeof d === 'number' ? 1 / Math.sqrt(d) : undefined);
    if (scale === undefined) throw new Error('attention: give scale when the head size is not known');
    const rank = q.shape?.length ?? k.shape?.length ?? 4;
    const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
    const scores = this.mul(this.matMul(q, this.transpose(k, perm)), scale);
    return this.matMul(this.softmax(o.mask ? this.add(scores, o.mask) : scores, -1), v);
  }

  // ---- internals -----------------------------------------------------------------------------
  private unary(opType: string, x: Value, attrs = {}): Value {
    return this.op(opType, [x], attrs, { shape: x.shape });
  }

  private binary(opType: string, a: Operand, b: Operand): Value {
    const [x, y] = this.operands(a, b);
    return this.op(opType, [x, y], {}, { shape: broadcastShape(x.shape, y.shape) });
  }

  private operands(a: Operand, b: Operand): [Value, Value] {
    if (typeof a === 'number' && typeof b === 'number') throw new Error('at least one operand must be a value');
    const dtype = (typeof a === 'number' ? (b as Value) : a).dtype ?? 'float32';
    const lift = (v: Operand) => (typeof v === 'number' ? this.constant(v, dtype) : v);
    return [lift(a), lift(b)];
  }

  private intsValue(v: Ints): Value {
    return isNumbers(v) ? this.ints(v) : v;
  }

}

function isNumbers(v: Value | readonly number[]): v is readonly number[] {
  return Array.isArray(v);
}

/** Numpy broadcasting of two known shapes (undefined when either is unknown or they clash). */
export function broadcastShape(a?: readonly Dim[], b?: readonly Dim[]): Dim[] | undefined {
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else return undefined;
  }
  return out;
}

function convAttrs(o: ConvOptions) {
  return {
    strides: o.strides, pads: o.pads, dilations: o.dilations, group: o.group,
    kernel_shape: o.kernelShape, auto_pad: o.autoPad,
  };
}

function poolAttrs(o: PoolOptions) {
  return {
    kernel_shape: o.kernelShape, strides: o.strides, pads: o.pads, auto_pad: o.autoPad,
    ceil_mode: o.ceilMode ? 1 : undefined,
  };
}
