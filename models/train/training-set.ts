// The training images as latents: each image (and its mirror) encoded by the VAE once and cached;
// a random crop, when asked for, is encoded when drawn.
import path from 'node:path';
import { decodeImage, fromImage, toImage } from '../../runtime/image-io.ts';
import type { Rng } from '../../runtime/rng.ts';
import type { Image } from '../../runtime/values.ts';
import type { Dataset } from '../preprocess/values.ts';
import { latentFactor } from '../sd/config.ts';
import type { SdModel } from '../sd/sd-model.ts';
import { encodeImage } from '../sd/vae-codec.ts';

export interface Augment {
  /** Mirror half of the draws (diffusers' --random_flip, which FaceChain's training script sets). */
  flip: boolean;
  /** Smallest side of a random square crop, as a fraction of the image (1 = no crop). */
  cropMin: number;
}

interface Distribution {
  mean: Float32Array;
  std: Float32Array;
}

export interface Draw {
  /** Index of the image in the set. */
  index: number;
  flipped: boolean;
  /** Scaled latent [4, h, w], sampled from the VAE's distribution. */
  latent: Float32Array;
  caption: string;
}

export class TrainingSet {
  private readonly cache = new Map<string, Promise<Distribution>>();

  private constructor(
    private readonly model: SdModel,
    private readonly images: readonly Image[],
    readonly captions: readonly string[],
    readonly resolution: number,
  ) {}

  /** Reads the dataset's images at `resolution` (a multiple of the VAE factor, 8). */
  static async open(model: SdModel, dataset: Dataset, resolution: number): Promise<TrainingSet> {
    if (!dataset.entries.length) throw new Error('inputs.dataset: the training set is empty');
    const images = await Promise.all(dataset.entries.map((e) => decodeImage(path.join(dataset.dir, e.file_name), { name: e.file_name })));
    return TrainingSet.of(model, images, dataset.entries.map((e) => e.text), resolution);
  }

  /** Images in memory (any size: each is cropped to a centred square of `resolution`) with their captions. */
  static async of(model: SdModel, images: readonly Image[], captions: readonly string[], resolution: number): Promise<TrainingSet> {
    const factor = latentFactor(model.config.vae);
    if (resolution % factor) throw new Error(`params.resolution: ${resolution} is not a multiple of ${factor}`);
    const squares = await Promise.all(images.map((img) => toImage(fromImage(img).removeAlpha().resize(resolution, resolution, { fit: 'cover' }), img.name)));
    return new TrainingSet(model, squares, captions, resolution);
  }

  get size(): number {
    return this.images.length;
  }

  /** Latent side in pixels of the latent grid. */
  get latentSide(): number {
    return this.resolution / latentFactor(this.model.config.vae);
  }

  /** One training example: image `index`, augmented and encoded, with the latent drawn from `rng`. */
  async draw(index: number, augment: Augment, rng: Rng): Promise<Draw> {
    const flipped = augment.flip && rng.uniform() < 0.5;
    const crop = augment.cropMin < 1 ? this.randomCrop(augment.cropMin, rng) : undefined;
    const dist = crop ? await this.encode(index, flipped, crop) : await this.cached(index, flipped);
    const latent = new Float32Array(dist.mean.length);
    for (let i = 0; i < latent.length; i++) latent[i] = dist.mean[i]! + dist.std[i]! * rng.normal();
    return { index, flipped, latent, caption: this.captions[index]! };
  }

  private randomCrop(min: number, rng: Rng): { side: number; left: number; top: number } {
    const side = Math.max(8, Math.round(this.resolution * rng.range(min, 1)));
    return { side, left: rng.int(this.resolution - side + 1), top: rng.int(this.resolution - side + 1) };
  }

  private cached(index: number, flipped: boolean): Promise<Distribution> {
    const key = `${index}:${flipped}`;
    let d = this.cache.get(key);
    if (!d) {
      d = this.encode(index, flipped);
      this.cache.set(key, d);
    }
    return d;
  }

  private async encode(index: number, flipped: boolean, crop?: { side: number; left: number; top: number }): Promise<Distribution> {
    let pipeline = fromImage(this.images[index]!);
    if (crop) pipeline = pipeline.extract({ left: crop.left, top: crop.top, width: crop.side, height: crop.side }).resize(this.resolution, this.resolution);
    if (flipped) pipeline = pipeline.flop();
    return encodeImage(this.model, await toImage(pipeline));
  }
}
