// The values the preprocessing nodes pass along FACES, TAGS and DATASET edges.
import { z } from 'zod';
import { detectedFaceSchema, faceAttributesSchema, genderSchema } from '../face/types.ts';
import { isImage, type Image, type Mask } from '../../runtime/values.ts';

export const imageSchema = z.custom<Image>(isImage, { message: 'expected raw image pixels' });
export const maskSchema = z.custom<Mask>((v) => isImage(v) && v.channels === 1, { message: 'expected a one-channel mask' });

/** A photo left out of the training set, and why. */
export const rejectionSchema = z.object({
  photo: z.string(),
  /** The node type that dropped it. */
  stage: z.string(),
  reason: z.string(),
});
export type Rejection = z.infer<typeof rejectionSchema>;

export const qualitySchema = z.object({
  /** Variance of the Laplacian of the grey face region (higher = sharper). */
  sharpness: z.number(),
  /** 1 for a frontal face, falling towards 0 as the head turns (from the five landmarks). */
  frontal: z.number(),
  /** Detector score times the mesh's face flag. */
  confidence: z.number(),
  /** Cosine similarity of the face descriptor to the set's mean descriptor. */
  similarity: z.number(),
  /** Combined score the selection ranks by. */
  score: z.number(),
});
export type Quality = z.infer<typeof qualitySchema>;

/** One usable photo on its way to the training set: its current pixels and its one face in them. */
export const faceItemSchema = z.object({
  /** The source photo's file name; rejections and captions refer to it. */
  photo: z.string(),
  image: imageSchema,
  /** The subject's face, in `image` pixels. */
  face: detectedFaceSchema,
  /** Larger side of the face box in the source photo, pixels (crops hide how small a face was). */
  faceSizeInPhoto: z.number(),
  /** Degrees the photo was turned clockwise so far (quarter turns plus the roll alignment). */
  rotation: z.number(),
  /** Head mask (face and hair), same size as `image`, once parsed. */
  mask: maskSchema.optional(),
  attributes: faceAttributesSchema.optional(),
  /** Unit-length identity descriptor. */
  descriptor: z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' }).optional(),
  quality: qualitySchema.optional(),
});
export type FaceItem = z.infer<typeof faceItemSchema>;

/** The FACES value: the photos still in play and the ones dropped so far. */
export const faceSetSchema = z.object({
  items: z.array(faceItemSchema),
  rejected: z.array(rejectionSchema),
});
export type FaceSet = z.infer<typeof faceSetSchema>;

export const captionSchema = z.object({
  photo: z.string(),
  /** Tags kept after the identity filter. */
  tags: z.array(z.string()),
  /** Tags the identity filter removed. */
  dropped: z.array(z.string()),
  /** The caption line: token, subject phrase, tags. */
  text: z.string(),
});

/** The TAGS value: the set's subject phrase and one caption per photo. */
export const tagSetSchema = z.object({
  /** The rare token the LoRA binds the identity to (FaceChain: `<sks>`). */
  token: z.string(),
  /** Table 1 phrase, e.g. "a beautiful woman". */
  subject: z.string(),
  gender: genderSchema,
  age: z.number(),
  /** The tagger model used, or "" when captions hold only the token and subject. */
  tagger: z.string(),
  captions: z.array(captionSchema),
});
export type TagSet = z.infer<typeof tagSetSchema>;

export const datasetEntrySchema = z.object({ file_name: z.string(), text: z.string(), photo: z.string() });

/** The DATASET value: a folder of images and `metadata.jsonl` (`{file_name, text}` per line). */
export const datasetSchema = z.object({
  dir: z.string(),
  metadata: z.string(),
  token: z.string(),
  subject: z.string(),
  resolution: z.number(),
  entries: z.array(datasetEntrySchema),
});
export type Dataset = z.infer<typeof datasetSchema>;

/** The one error a run ends with when no photo survives, listing each photo and its reason. */
export function allRejectedError(rejected: readonly Rejection[]): Error {
  const lines = rejected.map((r) => `  ${r.photo}: ${r.reason} (${r.stage})`);
  return new Error(`No usable photo left: all ${rejected.length} were rejected.\n${lines.join('\n')}`);
}

/** A node's FACES output; throws `allRejectedError` when nothing is left to pass on. */
export function faceSet(items: FaceItem[], rejected: Rejection[]): FaceSet {
  if (!items.length) throw allRejectedError(rejected);
  return { items, rejected };
}
