import type { Image } from '../../runtime/values.ts';
import type { Latent } from './latent.ts';
import type { SdModel } from './sd-model.ts';
import { latentFactor } from './config.ts';
import { applyOverlay } from './inpaint.ts';

/** Decodes latents to RGB images (8x their size), one VAE pass per image to bound memory; an inpainting overlay is pasted back. */
export async function decodeLatents(model: SdModel, latent: Latent): Promise<Image[]> {
  const session = await model.session('vaeDecoder');
  const plane = latent.channels * latent.height * latent.width;
  const images: Image[] = [];
  for (let i = 0; i < latent.batch; i++) {
    const out = await session.run({
      latent: { dtype: 'float32', dims: [1, latent.channels, latent.height, latent.width], data: latent.data.subarray(i * plane, (i + 1) * plane) },
    });
    const [, height, width] = out.image!.dims;
    const image: Image = { width: width!, height: height!, channels: 3, data: out.image!.data as Uint8Array };
    images.push(latent.overlay ? applyOverlay(image, latent.overlay) : image);
  }
  return images;
}

/** The VAE's latent distribution for an RGB image whose sides are multiples of the latent factor (8): mean and std, scaled. */
export async function encodeImage(model: SdModel, image: Image): Promise<{ mean: Float32Array; std: Float32Array }> {
  if (image.channels !== 3) throw new Error(`VAE encode needs RGB, got ${image.channels} channels`);
  const factor = latentFactor(model.config.vae);
  if (image.width % factor || image.height % factor) {
    throw new Error(`image ${image.width}x${image.height}: sides must be multiples of ${factor}`);
  }
  const session = await model.session('vaeEncoder');
  const out = await session.run({ image: { dtype: 'uint8', dims: [1, image.height, image.width, 3], data: image.data } });
  return { mean: out.mean!.data as Float32Array, std: out.std!.data as Float32Array };
}
