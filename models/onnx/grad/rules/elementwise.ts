// Broadcasting arithmetic and simple unary maps. Binary ops reduce their gradient back to each
// operand's shape (ctx.reduceTo), since numpy broadcasting copies an operand along the axes it lacks.
import type { GradRule } from '../rule.ts';

const add: GradRule = (ctx) => [0, 1].map((i) => (ctx.needs(i) ? ctx.reduceTo(ctx.grad(), i) : undefined));

const sub: GradRule = (ctx) => [
  ctx.needs(0) ? ctx.reduceTo(ctx.grad(), 0) : undefined,
  ctx.needs(1) ? ctx.reduceTo(ctx.b.neg(ctx.grad()), 1) : undefined,
];

const mul: GradRule = (ctx) => {
  const { b } = ctx;
  const [x, y] = ctx.inputs;
  return [
    ctx.needs(0) ? ctx.reduceTo(b.mul(ctx.grad(), y!), 0) : undefined,
    ctx.needs(1) ? ctx.reduceTo(b.mul(ctx.grad(), x!), 1) : undefined,
  ];
};

// d(x/y)/dy = -out/y.
const div: GradRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.inputs[1]!;
  const gx = b.div(ctx.grad(), y);
  return [
    ctx.needs(0) ? ctx.reduceTo(gx, 0) : undefined,
    ctx.needs(1) ? ctx.reduceTo(b.neg(b.mul(gx, ctx.outputs[0]!)), 1) : undefined,
  ];
};

// d(x^p)/dx = p·x^(p-1); d/dp = out·ln x (only defined for x > 0).
const pow: GradRule = (ctx) => {
  const { b } = ctx;
  const [x, p] = ctx.inputs;
  const g = ctx.grad();
  return [
    ctx.needs(0) ? ctx.reduceTo(b.mul(g, b.mul(p!, b.pow(x!, b.sub(p!, 1)))), 0) : undefined,
    ctx.needs(1) ? ctx.reduceTo(b.mul(g, b.mul(ctx.outputs[0]!, b.log(x!))), 1) : undefined,
  ];
};

const sum: GradRule = (ctx) => ctx.inputs.map((_, i) => (ctx.needs(i) ? ctx.reduceTo(ctx.grad(), i) : undefined));

// The condition selects which branch each element's gradient goes to.
const where: GradRule = (ctx) => {
  const { b } = ctx;
  const cond = ctx.inputs[0]!;
  const g = ctx.grad();
  return [
    undefined,
    ctx.needs(1) ? ctx.reduceTo(b.where(cond, g, 0), 1) : undefined,
    ctx.needs(2) ? ctx.reduceTo(b.where(cond, 0, g), 2) : undefined,
  ];
};

const unary = (f: (ctx: Parameters<GradRule>[0]) => ReturnType<GradRule>[number]): GradRule => (ctx) => [f(ctx)];

const identity = unary((ctx) => ctx.grad());
const neg = unary((ctx) => ctx.b.neg(ctx.grad()));
const exp = unary((ctx) => ctx.b.mul(ctx.grad(), ctx.outputs[0]!));
const log = unary((ctx) => ctx.b.div(ctx.grad(), ctx.inputs[0]!));
const sqrt = unary((ctx) => ctx.b.div(ctx.b.mul(ctx.grad(), 0.5), ctx.outputs[0]!));
const reciprocal = unary((ctx) => ctx.b.neg(ctx.b.mul(ctx.grad(), ctx.b.mul(ctx.outputs[0]!, ctx.outputs[0]!))));
const sin = unary((ctx) => ctx.b.mul(ctx.grad(), ctx.b.op('Cos', [ctx.inputs[0]!])));
const cos = unary((ctx) => ctx.b.neg(ctx.b.mul(ctx.grad(), ctx.b.op('Sin', [ctx.inputs[0]!]))));

// Float-to-float casts only (integer values never carry gradients): cast the gradient back.
const cast = unary((ctx) => ctx.b.cast(ctx.grad(), ctx.inputs[0]!.dtype!));

export const elementwiseRules = {
  Add: add, Sub: sub, Mul: mul, Div: div, Pow: pow, Sum: sum, Where: where,
  Identity: identity, Neg: neg, Exp: exp, Log: log, Sqrt: sqrt, Reciprocal: reciprocal, Sin: sin, Cos: cos,
  Cast: cast,
};
