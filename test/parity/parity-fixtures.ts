// The reference fixtures of test/fixtures/parity (made by make-fixtures.py from public reference code).
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { readSafetensors } from '../../models/safetensors.ts';
import { SdConfigSchema, type SdConfig } from '../../models/sd/config.ts';
import { GraphBuilder, type HostTensor } from '../../models/onnx/index.ts';
import { LoraInputs } from '../../models/sd/lora-targets.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import { decodeLatent } from '../../models/sd/vae.ts';
import type { WeightSource } from '../../models/sd/weight-source.ts';

export const PARITY_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'parity');

/** fp32 parity target: max |ours - reference| over the reference's max |value|. */
export const PARITY_TOLERANCE = 1e-4;

/** The reduced SD1.5 architecture the fixture checkpoint has. */
export function parityConfig(): SdConfig {
  return SdConfigSchema.parse(JSON.parse(readFileSync(path.join(PARITY_DIR, 'config.json'), 'utf8')));
}

export async function fixture(name: string): Promise<Map<string, HostTensor>> {
  return (await readSafetensors(path.join(PARITY_DIR, `${name}.safetensors`))).tensors;
}

/** A float32 tensor's data; throws naming the tensor when absent. */
export function f32(tensors: Map<string, HostTensor>, name: string): Float32Array {
  const t = tensors.get(name);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`fixture has no float32 tensor ${name}`);
  return t.data;
}

export { relativeError } from '../../models/onnx/compare.ts';

/** Worst |pixel - reference| in levels: our uint8 HWC RGB pixels vs the reference's CHW image in [-1, 1]. */
export function worstPixelError(pixels: Uint8Array, decoded: Float32Array): number {
  const plane = decoded.length / 3;
  let worst = 0;
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const expected = Math.min(255, Math.max(0, (decoded[c * plane + p]! + 1) * 127.5));
      worst = Math.max(worst, Math.abs(pixels[p * 3 + c]! - expected));
    }
  }
  return worst;
}

/** Prints the measured error so `npm test` shows it next to the tolerance. */
export function report(what: string, error: number, against: string): void {
  console.log(`parity ${what}: max relative error ${error.toExponential(2)} (tolerance ${PARITY_TOLERANCE}) vs ${against}`);
}

/**
 * Our VAE decoder code with a float output (`image`, [-1, 1] before quantisation) from input `latent`:
 * the app's decoder graph ends in uint8 pixels. `weightsDir`: where external weights point.
 */
export async function floatDecoder(config: SdConfig, weights: WeightSource, weightsDir?: string): Promise<PartSession> {
  const b = new GraphBuilder({ graphName: 'parity-decoder' });
  const ctx = { b, weights, lora: new LoraInputs(false), attention: 'fused' as const, loraName: () => undefined };
  const latent = b.input('latent', 'float32', ['batch', config.vae.latentChannels, 'height', 'width']);
  b.output(b.scope('first_stage_model', () => decodeLatent(ctx, config.vae, latent)), 'image');
  return PartSession.create(b.toBytes(), { weightsDir });
}
