// The face the post-processing nodes work with in an image: the largest one found.
import { at } from '../../protocol/index.ts';
import type { FaceModels } from '../face/face-models.ts';
import type { DetectedFace } from '../face/types.ts';
import type { Image } from '../../runtime/values.ts';

export function largestFace(faces: readonly DetectedFace[]): DetectedFace | undefined {
  return faces.reduce<DetectedFace | undefined>((a, b) => (!a || b.box.width * b.box.height > a.box.width * a.box.height ? b : a), undefined);
}

/** The template input's face; a template without one is an error naming the input. */
export async function detectTemplateFace(models: FaceModels, template: Image): Promise<DetectedFace> {
  const face = largestFace(await models.detect(template));
  if (!face) throw new Error(`inputs.template: no face found in the template image${template.name ? ` (${template.name})` : ''}`);
  return face;
}

/** The template face's unit identity descriptor. */
export async function describeTemplate(models: FaceModels, template: Image): Promise<Float32Array> {
  const { descriptor } = at(await models.describe(template, [await detectTemplateFace(models, template)]), 0, 'face');
  return descriptor;
}
