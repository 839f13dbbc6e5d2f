// The tiny model with a VAE that keeps pictures: its random VAE turns any image into noise, so no face
// survives img2img and identity scores are all undefined. Here every VAE residual branch and attention
// output is zeroed (the blocks pass through), the stride-2 and upsampling convs smooth each channel,
// and the in/out convs route R, G, B into channels of their own GroupNorm group, so encode -> decode
// returns the image auto-levelled per channel. The UNet and text encoder keep their random weights.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../../models/onnx/index.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tiny } from '../../models/sd/config.ts';
import { sdModelFromWeights, type SdModel } from '../../models/sd/sd-model.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';

const VAE = 'first_stage_model.';
/** GroupNorm shift keeping SiLU in its near-linear part. */
const SHIFT = 6;
/** Latent = LATENT_GAIN x the normalised channel x 0.18215: about unit size, like SD's latents. */
const LATENT_GAIN = 5;

/** Conv weight [out, in, k, k] with `taps` (k x k) on the given (out, in) channel pairs, zero elsewhere. */
function conv(dims: readonly number[], pairs: [number, number][], taps: number[]): Float32Array {
  const [, inCh, k] = dims;
  const w = new Float32Array(dims.reduce((a, d) => a * d, 1));
  for (const [o, i] of pairs) taps.forEach((t, j) => (w[(o * inCh + i) * k * k + j] = t));
  return w;
}

const diagonal = (n: number) => Array.from({ length: n }, (_, c): [number, number] => [c, c]);
const centre = [0, 0, 0, 0, 1, 0, 0, 0, 0];
const smooth = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);

/** VAE weights for the tiny config that keep pictures; everything else from randomWeights(tiny, seed). */
export function pictureVaeWeights(seed = 0): Map<string, HostTensor> {
  const weights = randomWeights(tiny, seed);
  const set = (key: string, f: (dims: readonly number[]) => Float32Array) => {
    const t = weights.get(VAE + key)!;
    weights.set(VAE + key, { ...t, data: f(t.dims) });
  };
  const zero = (dims: readonly number[]) => new Float32Array(dims.reduce((a, d) => a * d, 1));
  const fill = (v: number) => (dims: readonly number[]) => zero(dims).fill(v);
  for (const key of weights.keys()) {
    if (!key.startsWith(VAE)) continue;
    const k = key.slice(VAE.length);
    if (/(conv2|proj_out)\.(weight|bias)$|(conv_in|conv_out|nin_shortcut|downsample\.conv|upsample\.conv|quant_conv)\.bias$/.test(k)) set(k, zero);
    else if (/(downsample|upsample)\.conv\.weight$/.test(k)) set(k, (d) => conv(d, diagonal(d[0]), smooth));
    else if (/(quant_conv|nin_shortcut)\.weight$/.test(k)) set(k, (d) => conv(d, diagonal(Math.min(d[0], d[1])), [1]));
  }
  // Encoder: RGB -> channels 0-2, spread to 0, 4, 8 (norm_out's groups of 4), mean = gain x normalised, std ~ 0.
  set('encoder.conv_in.weight', (d) => conv(d, diagonal(3), centre));
  set('encoder.down.1.block.0.nin_shortcut.weight', (d) => conv(d, [[0, 0], [4, 1], [8, 2]], [1]));
  set('encoder.norm_out.bias', fill(SHIFT));
  set('encoder.conv_out.weight', (d) => conv(d, [[0, 0], [1, 4], [2, 8]], centre.map((v) => v * LATENT_GAIN)));
  set('encoder.conv_out.bias', (d) => Float32Array.from({ length: d[0] }, (_, c) => (c < 3 ? -SHIFT * LATENT_GAIN : c >= 4 ? -30 : 0)));
  // Decoder: latent 0-2 -> channels 0, 2, 4 (norm_out's groups of 2), out = normalised / 2 in [-1, 1].
  set('decoder.conv_in.weight', (d) => conv(d, [[0, 0], [2, 1], [4, 2]], centre));
  set('decoder.norm_out.bias', fill(SHIFT));
  set('decoder.conv_out.weight', (d) => conv(d, [[0, 0], [1, 2], [2, 4]], centre.map((v) => v / 2)));
  set('decoder.conv_out.bias', fill(-SHIFT / 2));
  return weights;
}

/** The tiny model with that VAE, in memory. */
export function pictureTinyModel(seed = 0): SdModel {
  return sdModelFromWeights(`tiny-picture-vae:${seed}`, tiny, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(pictureVaeWeights(seed)));
}

/** Writes that model as an LDM checkpoint `<models>/checkpoints/<name>` (tokenizer.json beside it), as a user would. */
export async function writePictureCheckpoint(modelsDir: string, name = 'tiny-picture.safetensors', seed = 0): Promise<void> {
  const dir = path.join(modelsDir, 'checkpoints');
  mkdirSync(dir, { recursive: true });
  await writeSafetensors(path.join(dir, name), pictureVaeWeights(seed));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
}
