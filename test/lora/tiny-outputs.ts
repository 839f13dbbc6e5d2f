// One text-encoder and one UNet call of a tiny model on fixed inputs, with a stack's branches or rank 0:
// how the LoRA tests compare a model with a stack against the same LoRAs baked in (sampling would only
// amplify float rounding).
import type { LoraStack } from '../../models/lora/stack.ts';
import type { HostTensor } from '../../models/onnx/index.ts';
import { loraFeeds } from '../../models/sd/lora-feeds.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { Rng } from '../../runtime/rng.ts';

export async function tinyOutputs(m: SdModel, s?: LoraStack): Promise<{ text: Float32Array; eps: Float32Array }> {
  const rng = new Rng(9);
  const ids: HostTensor = { dtype: 'int64', dims: [1, 77], data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i < 6 ? 1 + rng.int(500) : 0)) };
  const unetIn = {
    sample: { dtype: 'float32', dims: [1, 4, 8, 8], data: rng.fillNormal(new Float32Array(256)) },
    timestep: { dtype: 'float32', dims: [1], data: Float32Array.of(700) },
    context: { dtype: 'float32', dims: [1, 77, 32], data: rng.fillNormal(new Float32Array(77 * 32)) },
  } satisfies Record<string, HostTensor>;
  return {
    text: (await (await m.session('text')).run({ input_ids: ids, ...loraFeeds(m.loraTargets.text, s?.text) })).hidden!.data as Float32Array,
    eps: (await (await m.session('unet')).run({ ...unetIn, ...loraFeeds(m.loraTargets.unet, s?.unet(0, 1)) })).eps!.data as Float32Array,
  };
}
