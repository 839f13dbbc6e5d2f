// Elementwise ops: TF and ONNX broadcast the same way (numpy rules), so these map one to one.
import type { Value } from '../../onnx/index.ts';
import { attrString } from '../attrs.ts';
import type { TfNode } from '../model-json.ts';
import { activation } from './activation.ts';
import type { ConversionContext, Shape, Tensor } from './context.ts';

export function broadcast(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : x === -1 ? y : x);
  }
  return out;
}

const BINARY: Record<string, string> = {
  Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Div: 'Div',
  Maximum: 'Max', Minimum: 'Min', Pow: 'Pow',
};

const UNARY: Record<string, string> = {
  Abs: 'Abs', Neg: 'Neg', Exp: 'Exp', Log: 'Log', Sqrt: 'Sqrt', Reciprocal: 'Reciprocal', Floor: 'Floor',
  Ceil: 'Ceil', Round: 'Round', Sign: 'Sign', Identity: 'Identity', Softplus: 'Softplus', Erf: 'Erf',
};

const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Elu', 'LeakyRelu', 'Prelu']);

export function isElementwise(op: string): boolean {
  return op in BINARY || op in UNARY || ACTIVATIONS.has(op) || ['AddN', 'Square', 'Rsqrt', 'SquaredDifference'].includes(op);
}

export function elementwise(ctx: ConversionContext, node: TfNode): Tensor {
  const b = ctx.builder;
  const x = ctx.input(node, 0);
  const same = (value: Value): Tensor => ({ value, shape: x.shape });
  if (node.op in BINARY) {
    if (node.op === 'BiasAdd' && attrString(node, 'data_format', 'NHWC') !== 'NHWC') {
      throw new Error(`BiasAdd ${node.name}: only NHWC is supported`);
    }
    const y = ctx.input(node, 1);
    return { value: b.op(BINARY[node.op]!, [x.value, y.value]), shape: broadcast(x.shape, y.shape) };
  }
  if (node.op in UNARY) return same(b.op(UNARY[node.op]!, [x.value]));
  if (ACTIVATIONS.has(node.op)) {
    return same(activation(ctx, node.op, x.value, node, node.op === 'Prelu' ? ctx.input(node, 1).value : undefined));
  }
  switch (node.op) {
    case 'Square': return same(b.mul(x.value, x.value));
    case 'Rsqrt': return same(b.reciprocal(b.sqrt(x.value)));
    case 'SquaredDifference': {
      const y = ctx.input(node, 1);
      const d = b.sub(x.value, y.value);
      return { value: b.mul(d, d), shape: broadcast(x.shape, y.shape) };
    }
    case 'AddN': {
      const all = Array.from({ length: ctx.inputCount(node) }, (_, i) => ctx.input(node, i));
      return { value: b.op('Sum', all.map((t) => t.value)), shape: all.map((t) => t.shape).reduce(broadcast) };
    }
  }
  throw new Error(`${node.op} ${node.name}: not an elementwise op`);
}
