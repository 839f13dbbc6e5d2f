// The AdamW graph as a session with its moments: one `step` updates the params in place.
import { encodeModel } from '../onnx/proto.ts';
import type { HostTensor } from '../onnx/tensor.ts';
import { adamwNames, buildAdamW, type AdamWConfig, type ParamSpec } from '../onnx/grad/index.ts';
import type { OrtSession, OrtSessionOptions } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';
import { fromOrtTensor, toOrtTensor, type Feed } from '../session/tensors.ts';

export class AdamW {
  /** Optimiser steps done. */
  step = 0;
  /** First and second moments by `m.<param>` / `v.<param>` (a training checkpoint saves these and `step`). */

  readonly moments: Map<string, Float32Array>;

  private constructor(private readonly session: OrtSession, private readonly params: readonly ParamSpec[]) {
    this.moments = zeroMoments(params);
  }

  static async create(params: readonly ParamSpec[], config: Partial<AdamWConfig> = {}, options?: OrtSessionOptions): Promise<AdamW> {
    return new AdamW(await createSession(encodeModel(buildAdamW(params, config)), options), params);
  }

  /**
   * One update at learning rate `lr`: `values` (by param name) are overwritten with the new params,
   * `grads` are keyed `grad.<param>` as the training graph outputs them. Returns the gradient norm before clipping.
   */
  async update(values: ReadonlyMap<string, Float32Array>, grads: Readonly<Record<string, Feed>>, lr: number): Promise<number> {
    this.step++;
    const scalar = (x: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(x) });
    const feeds: Record<string, Feed> = { step: scalar(this.step), lr: scalar(lr) };
    for (const p of this.params) {
      const n = adamwNames(p.name);
      const tensor = (data: Float32Array | undefined, what: string): HostTensor => {
        if (!data) throw new Error(`AdamW: no ${what} for ${p.name}`);
        return { dtype: 'float32', dims: p.dims, data };
      };
      feeds[p.name] = tensor(values.get(p.name), 'value');
      feeds[n.m] = tensor(this.moments.get(n.m), 'first moment');
      feeds[n.v] = tensor(this.moments.get(n.v), 'second moment');
      const g = grads[n.grad];
      if (!g) throw new Error(`AdamW: no gradient ${n.grad}`);
      feeds[n.grad] = g;
    }
    const out = await this.session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v)])));
    for (const p of this.params) {
      const n = adamwNames(p.name);
      values.get(p.name)!.set(fromOrtTensor(out[n.newParam]!).data as Float32Array);
      this.moments.get(n.m)!.set(fromOrtTensor(out[n.newM]!).data as Float32Array);
      this.moments.get(n.v)!.set(fromOrtTensor(out[n.newV]!).data as Float32Array);
    }
    return (fromOrtTensor(out.grad_norm!).data as Float32Array)[0]!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** AdamW's moments at the start: zeros by `m.<param>` / `v.<param>`. */
export function zeroMoments(params: readonly ParamSpec[]): Map<string, Float32Array> {
  return new Map(params.flatMap((p) => {
    const size = p.dims.reduce((a, d) => a * d, 1);
    const n = adamwNames(p.name);
    return [[n.m, new Float32Array(size)], [n.v, new Float32Array(size)]] as const;
  }));
}
