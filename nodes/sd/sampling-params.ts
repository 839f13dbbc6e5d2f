// What every node that samples asks for, with the sampler's defaults (common SD1.5 settings), and the
// img2img start image as the sampler prepares it.
import { z } from 'zod';
import { SchedulerNameSchema } from '../../models/sd/schedulers/index.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import { promptParam, seedParam } from '../../runtime/params.ts';
import type { Image } from '../../runtime/values.ts';

export const samplingParams = {
  prompt: promptParam('a portrait photo of a person, high quality', 'What to draw'),
  negativePrompt: promptParam('blurry, low quality, deformed', 'What to steer away from'),
  steps: z.number().int().min(1).max(150).default(20),
  cfg: z.number().min(1).max(30).default(7).meta({ description: 'Guidance scale; 1 = no negative prompt pass', step: 0.5 }),
  seed: seedParam(),
  width: z.number().int().min(64).max(2048).multipleOf(8).default(512).meta({ step: 64 }),
  height: z.number().int().min(64).max(2048).multipleOf(8).default(512).meta({ step: 64 }),
  scheduler: SchedulerNameSchema.default('dpmpp_2m_karras'),
  strength: z.number().gt(0).max(1).default(0.75).meta({ description: 'img2img only: 1 = ignore the image content', step: 0.05 }),
};

/** img2img start: RGB at exactly the sampling size (cover-resized, alpha flattened on white). */
export async function startImage(image: Image, width: number, height: number): Promise<Image> {
  let pipeline = fromImage(image);
  if (image.channels !== 3) pipeline = pipeline.flatten({ background: '#ffffff' }).toColourspace('srgb');
  return toImage(pipeline.resize(width, height, { fit: 'cover' }).removeAlpha(), image.name);
}
