// AdamW (decoupled weight decay, Loshchilov & Hutter) over a set of tensors as one small ONNX graph,
// with gradient clipping by the global norm over all of them first (as torch's clip_grad_norm_).
import { z } from 'zod';
import { GraphBuilder } from '../builder.ts';
import type { Value } from '../graph-core.ts';
import type { ModelProto } from '../proto.ts';

export const AdamWConfigSchema = z.object({
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(1e-2),
  /** Largest global gradient norm; larger gradients are scaled down to it. 0 = no clipping. */
  maxGradNorm: z.number().min(0).default(1),
});
export type AdamWConfig = z.infer<typeof AdamWConfigSchema>;

export interface ParamSpec { name: string; dims: number[] }

/** Graph names of a parameter's state: gradient in, moments in and out, the updated value out. */
export const adamwNames = (param: string) => ({
  grad: `grad.${param}`, m: `m.${param}`, v: `v.${param}`,
  newParam: `new.${param}`, newM: `new.m.${param}`, newV: `new.v.${param}`,
});

/** A param's values in a graph being built: its value, gradient and moments. */
export interface AdamWValues { name: string; p: Value; g: Value; m: Value; v: Value }

/**
 * Inputs: every param, `grad.<p>`, `m.<p>`, `v.<p>`, and scalars `step` (1 for the first update) and
 * `lr`. Outputs: `new.<p>`, `new.m.<p>`, `new.v.<p>` and `grad_norm` (before clipping). Per tensor:
 * g ← g·min(1, max/(‖g‖ + 1e-6)); p ← p·(1 - lr·wd); m ← β1·m + (1-β1)·g; v ← β2·v + (1-β2)·g²;
 * p ← p - lr·(m/(1-β1^t)) / (sqrt(v/(1-β2^t)) + ε).
 */
export function buildAdamW(params: readonly ParamSpec[], options: Partial<AdamWConfig> = {}): ModelProto {
  const b = new GraphBuilder({ graphName: 'adamw' });
  const step = b.input('step', 'float32', []);
  const lr = b.input('lr', 'float32', []);
  const tensors = params.map((p) => {
    const n = adamwNames(p.name);
    return { name: p.name, p: b.input(p.name, 'float32', p.dims), g: b.input(n.grad, 'float32', p.dims), m: b.input(n.m, 'float32', p.dims), v: b.input(n.v, 'float32', p.dims) };
  });
  const { norm, updated } = addAdamW(b, tensors, step, lr, options);
  b.output(norm, 'grad_norm', 'float32');
  for (const u of updated) {
    const n = adamwNames(u.name);
    b.output(u.p, n.newParam, 'float32');
    b.output(u.m, n.newM, 'float32');
    b.output(u.v, n.newV, 'float32');
  }
  return b.toModel();
}

/** `buildAdamW`'s update as nodes of `b` (the trainer's resident step wraps it): the gradient norm and each param's new value and moments. */
export function addAdamW(
  b: GraphBuilder, tensors: readonly AdamWValues[], step: Value, lr: Value, options: Partial<AdamWConfig> = {},
): { norm: Value; updated: { name: string; p: Value; m: Value; v: Value }[] } {
  const c = AdamWConfigSchema.parse(options);
  const squares = tensors.map(({ g }) => b.op('ReduceSumSquare', [g], { keepdims: 0 }));
  const norm = b.sqrt((squares.length === 1 ? squares[0] : b.op('Sum', squares))!);
  const scale: Value | undefined = c.maxGradNorm > 0 ? b.min(b.div(c.maxGradNorm, b.add(norm, 1e-6)), 1) : undefined;
  const correction1 = b.sub(1, b.pow(b.constant(c.beta1), step));
  const correction2 = b.sub(1, b.pow(b.constant(c.beta2), step));
  const decay = b.sub(1, b.mul(lr, c.weightDecay));
  const updated = tensors.map(({ name, p, g: raw, m, v }) => {
    const g = scale ? b.mul(raw, scale) : raw;
    const m1 = b.add(b.mul(m, c.beta1), b.mul(g, 1 - c.beta1));
    const v1 = b.add(b.mul(v, c.beta2), b.mul(b.mul(g, g), 1 - c.beta2));
    const update = b.div(b.div(m1, correction1), b.add(b.sqrt(b.div(v1, correction2)), c.epsilon));
    return { name, p: b.sub(b.mul(p, decay), b.mul(update, lr)), m: m1, v: v1 };
  });
  return { norm, updated };
}
