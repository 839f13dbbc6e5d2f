// Activations and softmax, written with their outputs where that is cheaper (sigmoid, tanh, softmax).
import type { GradContext, GradRule } from '../rule.ts';

const sigmoid: GradRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  return [b.mul(ctx.grad(), b.mul(y!, b.sub(1, y!)))];
};

const tanh: GradRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  return [b.mul(ctx.grad(), b.sub(1, b.mul(y!, y!)))];
};

const relu: GradRule = (ctx) => {
  const { b } = ctx;
  return [b.where(b.op('Greater', [ctx.inputs[0]!, b.constant(0, ctx.inputs[0]!.dtype)]), ctx.grad(), 0)];
};

// d erf(x)/dx = 2/sqrt(pi) · exp(-x²).
const erf: GradRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0]!;
  return [b.mul(ctx.grad(), b.mul(b.exp(b.neg(b.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
};

// Exact: Φ(x) + x·φ(x). Tanh form: 0.5(1 + t) + 0.5x(1 - t²)·sqrt(2/π)(1 + 3·0.044715x²), t = tanh(u).
const gelu: GradRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0]!;
  const x2 = b.mul(x, x);
  let d;
  if (ctx.attrs.string('approximate', 'none') === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const t = b.tanh(b.mul(b.add(x, b.mul(b.mul(x2, x), 0.044715)), c));
    const du = b.mul(b.add(b.mul(x2, 3 * 0.044715), 1), c);
    d = b.add(b.mul(b.add(t, 1), 0.5), b.mul(b.mul(b.mul(x, 0.5), b.sub(1, b.mul(t, t))), du));
  } else {
    const cdf = b.mul(b.add(b.erf(b.mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = b.mul(b.exp(b.mul(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI));
    d = b.add(cdf, b.mul(x, pdf));
  }
  return [b.mul(ctx.grad(), d)];
};

function softmaxAxis(ctx: GradContext): number {
  // Before opset 13 Softmax flattened the input at `axis` into 2-D: a different op.
  if (ctx.opset < 13) throw new Error(`Softmax gradient needs opset 13+ (node ${ctx.node.name})`);
  return ctx.attrs.int('axis', -1);
}

// dx = y · (g - Σ g·y) along the softmax axis.
const softmax: GradRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  const g = ctx.grad();
  return [b.mul(y!, b.sub(g, b.reduceSum(b.mul(g, y!), [softmaxAxis(ctx)], true)))];
};

export const activationRules = { Sigmoid: sigmoid, Tanh: tanh, Relu: relu, Erf: erf, Gelu: gelu, Softmax: softmax };
