// Dynamic loss scaling for float16 training (mixed precision), as PyTorch's GradScaler: the loss is
// multiplied by `scale` in float32 before the backward pass, so gradients too small for float16
// (below 6e-8) survive it; they come back scaled, are divided by `scale` in float32, and a step whose
// gradients overflowed (inf or NaN) is skipped and the scale halved. After `growthInterval` steps in
// a row without overflow the scale doubles again.
import type { HostTensor } from '../onnx/index.ts';

/** The largest scale (powers of two multiply exactly in float32): far above what float16 gradients take. */
export const MAX_LOSS_SCALE = 2 ** 32;

export interface LossScaleState {
  scale: number;
  /** Steps without overflow since the scale last changed. */
  goodSteps: number;
}

export class LossScaler implements LossScaleState {
  constructor(public scale: number, readonly growthInterval: number, public goodSteps = 0) {}

  /** Divides every gradient by the scale, in place; false when one is not finite (the step must be skipped). */
  unscale(grads: Readonly<Record<string, HostTensor>>): boolean {
    const inverse = 1 / this.scale;
    let finite = true;
    for (const g of Object.values(grads)) {
      const d = g.data as Float32Array;
      for (let i = 0; i < d.length; i++) {
        d[i]! *= inverse;
        if (!Number.isFinite(d[i]!)) finite = false;
      }
    }
    return finite;
  }

  /** After a step: an overflow halves the scale, `growthInterval` good steps in a row double it. */
  update(overflow: boolean): void {
    if (overflow) {
      this.scale /= 2;
      this.goodSteps = 0;
      // Overflow even unscaled: float16 cannot hold the forward pass itself, halving will not help.
      if (this.scale < 1) throw new Error('training diverged: gradients overflow float16 even at loss scale 1; lower the learning rate or turn mixed precision off');
      return;
    }
    if (++this.goodSteps < this.growthInterval) return;
    this.scale = Math.min(this.scale * 2, MAX_LOSS_SCALE);
    this.goodSteps = 0;
  }
}
