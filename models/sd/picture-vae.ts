// A VAE that keeps pictures, for the small configs (tiny's VAE layout, which the demo model uses): every
// VAE residual branch and attention output is zeroed (the blocks pass through), the stride-2 and
// upsampling convs smooth each channel, and the in/out convs route R, G, B into channels of their own
// GroupNorm group, so encode -> decode returns the image, blurred to the latent grid (8x8 pixels per
// latent pixel) and auto-levelled per channel. Latent channels 0-2 are R, G, B; channel 3 is always 0.
import type { HostTensor } from '../onnx/index.ts';

const VAE = 'first_stage_model.';
/** GroupNorm shift keeping SiLU in its near-linear part. */
const SHIFT = 6;
/** Latent = LATENT_GAIN x the normalised channel x 0.18215: about unit size, like SD's latents. */
const LATENT_GAIN = 5;

/** Conv weight [out, in, k, k] with `taps` (k x k) on the given (out, in) channel pairs, zero elsewhere. */
function conv(dims: readonly number[], pairs: [number, number][], taps: number[]): Float32Array {
  const [, inCh, k] = dims;
  const w = new Float32Array(dims.reduce((a, d) => a * d, 1));
  for (const [o, i] of pairs) taps.forEach((t, j) => (w[(o * inCh! + i) * k! * k! + j] = t));
  return w;
}

const diagonal = (n: number) => Array.from({ length: n }, (_, c): [number, number] => [c, c]);
const centre = [0, 0, 0, 0, 1, 0, 0, 0, 0];
const smooth = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);

/**
 * Sets the VAE weights of `weights` (the tiny config's VAE layout, which `demo` shares) to ones that keep
 * pictures; the other tensors are left as they are. Returns `weights`.
 */
export function setPictureVae(weights: Map<string, HostTensor>): Map<string, HostTensor> {
  if (JSON.stringify(weights.get(`${VAE}encoder.conv_in.weight`)?.dims) !== '[8,3,3,3]') throw new Error('the picture VAE needs the tiny VAE layout');
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
    else if (/(downsample|upsample)\.conv\.weight$/.test(k)) set(k, (d) => conv(d, diagonal(d[0]!), smooth));
    else if (/(quant_conv|nin_shortcut)\.weight$/.test(k)) set(k, (d) => conv(d, diagonal(Math.min(d[0]!, d[1]!)), [1]));
  }
  // Encoder: RGB -> channels 0-2, spread to 0, 4, 8 (norm_out's groups of 4), mean = gain x normalised, std ~ 0.
  set('encoder.conv_in.weight', (d) => conv(d, diagonal(3), centre));
  set('encoder.down.1.block.0.nin_shortcut.weight', (d) => conv(d, [[0, 0], [4, 1], [8, 2]], [1]));
  set('encoder.norm_out.bias', fill(SHIFT));
  set('encoder.conv_out.weight', (d) => conv(d, [[0, 0], [1, 4], [2, 8]], centre.map((v) => v * LATENT_GAIN)));
  set('encoder.conv_out.bias', (d) => Float32Array.from({ length: d[0]! }, (_, c) => (c < 3 ? -SHIFT * LATENT_GAIN : c >= 4 ? -30 : 0)));
  // Decoder: latent 0-2 -> channels 0, 2, 4 (norm_out's groups of 2), out = normalised / 2 in [-1, 1].
  set('decoder.conv_in.weight', (d) => conv(d, [[0, 0], [2, 1], [4, 2]], centre));
  set('decoder.norm_out.bias', fill(SHIFT));
  set('decoder.conv_out.weight', (d) => conv(d, [[0, 0], [1, 2], [2, 4]], centre.map((v) => v / 2)));
  set('decoder.conv_out.bias', fill(-SHIFT / 2));
  return weights;
}
