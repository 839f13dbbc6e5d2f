// What every node that samples asks for: the sampler's params (models/sd/sample.ts) with a portrait
// prompt and form hints; and the img2img start image as the sampler prepares it.
import { SampleParamsSchema } from '../../models/sd/sample.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import { promptParam, seedParam } from '../../runtime/params.ts';
import type { Image } from '../../runtime/values.ts';

const { cfg, width, height, strength, batch, clipSkip } = SampleParamsSchema.shape;

/** One image at a time: the sampler node adds `batch` and `clipSkip` (samplerParams). */
export const samplingParams = SampleParamsSchema.omit({ batch: true, clipSkip: true }).extend({
  prompt: promptParam('a portrait photo of a person, high quality', 'What to draw'),
  negativePrompt: promptParam('blurry, low quality, deformed', 'What to steer away from'),
  cfg: cfg.meta({ description: 'Guidance scale; 1 = no negative prompt pass', step: 0.5 }),
  seed: seedParam(),
  width: width.meta({ step: 64 }),
  height: height.meta({ step: 64 }),
  strength: strength.meta({ description: 'img2img only: 1 = ignore the image content', step: 0.05 }),
}).shape;

export const samplerParams = {
  batch,
  clipSkip: clipSkip.meta({ description: '2 = use the penultimate text-encoder layer' }),
};

/** img2img start: RGB at exactly the sampling size (cover-resized, alpha flattened on white). */
export async function startImage(image: Image, width: number, height: number): Promise<Image> {
  let pipeline = fromImage(image);
  if (image.channels !== 3) pipeline = pipeline.flatten({ background: '#ffffff' }).toColourspace('srgb');
  return toImage(pipeline.resize(width, height, { fit: 'cover' }).removeAlpha(), image.name);
}
