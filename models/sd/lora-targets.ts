import type { GraphBuilder, Value } from '../onnx/index.ts';

/** A module that takes a low-rank branch x·A·B, named as kohya-ss LoRA files name it. */
export interface LoraTarget {
  /** kohya module name, e.g. lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q. */
  name: string;
  /** Checkpoint (LDM) key of the module's weight, without `.weight`. */
  module: string;
  in: number;
  out: number;
  /**
   * How the checkpoint stores the module. 1x1 convs (UNet proj_in/proj_out) are applied as linear
   * layers on the flattened tokens, so their branch is linear too: a kohya conv LoRA [r, in, 1, 1]
   * reshapes to A = [in, r].
   */
  kind: 'linear' | 'conv1x1';
}

/** Graph input names of a target's branch matrices: A [in, rank], B [rank, out]. */
export function loraInputNames(target: Pick<LoraTarget, 'name'>): { a: string; b: string } {
  return { a: `${target.name}.A`, b: `${target.name}.B` };
}

/**
 * Collects the LoRA targets of one graph and adds their A/B inputs. Each target has its own dynamic
 * rank dimension, so rank 0 (no LoRA) and any rank feed the same model.
 */
export class LoraInputs {
  readonly targets: LoraTarget[] = [];

  constructor(private readonly enabled: boolean) {}

  /** Adds x·A·B to `y` for the target (x: [..., in], y: [..., out]). */
  apply(b: GraphBuilder, target: LoraTarget, x: Value, y: Value): Value {
    if (!this.enabled) return y;
    this.targets.push(target);
    const names = loraInputNames(target);
    const rank = `rank_${this.targets.length - 1}`;
    const a = b.input(names.a, 'float32', [target.in, rank]);
    const bMat = b.input(names.b, 'float32', [rank, target.out]);
    return b.add(y, b.matMul(b.matMul(x, a), bMat));
  }
}
