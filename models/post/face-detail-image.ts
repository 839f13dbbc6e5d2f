// One image through the face-detail pass: detect, pick the faces and whose settings each gets
// (face-select.ts), then repaint them one after another, left to right.
import type { FaceModels } from '../face/face-models.ts';
import { cosineSimilarity } from '../face/faceres.ts';
import type { DetectedFace } from '../face/types.ts';
import type { LoraSchedule } from '../sd/lora-schedule.ts';
import type { SdModel } from '../sd/sd-model.ts';
import type { Image } from '../../runtime/values.ts';
import { detailFace, type FaceDetailOptions, type FaceDetailResult } from './face-detail.ts';
import { selectFaces, type FaceJob, type Person, type SelectOptions } from './face-select.ts';
import { largestFace } from './template-face.ts';
import { at } from '../../protocol/index.ts';

/** A person of the assignment list with what the node's inputs gave them. */
export interface PersonInput extends Person {
  loras?: LoraSchedule;
  /** For `select: 'reference'`: a photo of them. */
  reference?: Image;
}

export interface FaceReport extends Omit<FaceDetailResult, 'image'> {
  job: FaceJob;
  /** What the crop was sampled with. */
  loras?: LoraSchedule;
  prompt: string;
  seed: number;
}

export interface DetailImageHooks {
  signal?: AbortSignal;
  /** Called before each face is sampled (k of n) and after each of its steps. */
  onFace?(k: number, n: number, job: FaceJob): void;
  onStep?(k: number, n: number, index: number, total: number): void;
}

/**
 * Repaints the chosen faces of `image` (RGB); face k of the image is sampled with seed + k. People
 * without LoRAs or a prompt of their own get `loras` and `options.prompt`.
 */
export async function detailImage(
  model: SdModel, faceModels: FaceModels, image: Image, options: FaceDetailOptions & SelectOptions,
  people: readonly PersonInput[], loras: LoraSchedule | undefined, notes: string[], hooks: DetailImageHooks = {},
): Promise<{ image: Image; faces: FaceReport[]; detected: DetectedFace[] }> {
  const detected = await faceModels.detect(image);
  const similarity = await referenceSimilarity(faceModels, image, detected, people, notes);
  const jobs = selectFaces(detected, options, people, similarity, notes);
  const faces: FaceReport[] = [];
  let current = image;
  for (const [k, job] of jobs.entries()) {
    hooks.signal?.throwIfAborted();
    hooks.onFace?.(k, jobs.length, job);
    const person = job.person === undefined ? undefined : people[job.person];
    const schedule = person?.loras ?? loras;
    const prompt = person?.prompt || options.prompt;
    const seed = (options.seed ?? 0) + k;
    const r = await detailFace(model, current, job.face, { ...options, prompt, seed }, {
      signal: hooks.signal, loras: schedule, onStep: (i, total) => hooks.onStep?.(k, jobs.length, i, total),
    });
    current = r.image;
    faces.push({ job, loras: schedule, prompt, seed, crop: r.crop, mask: r.mask, before: r.before, after: r.after });
  }
  return { image: current, faces, detected };
}

/** A reference photo's descriptor (its largest face), found once for all the images of a batch. */
const references = new WeakMap<Image, Promise<Float32Array | undefined>>();

function referenceDescriptor(faceModels: FaceModels, photo: Image): Promise<Float32Array | undefined> {
  let d = references.get(photo);
  if (!d) {
    d = (async () => {
      const face = largestFace(await faceModels.detect(photo));
      return face && at(await faceModels.describe(photo, [face]), 0, 'face').descriptor;
    })();
    references.set(photo, d);
    d.catch(() => references.delete(photo));
  }
  return d;
}

/** The identity similarity of each face to each `reference` person's photo (cosine of FaceRes descriptors). */
async function referenceSimilarity(
  faceModels: FaceModels, image: Image, faces: readonly DetectedFace[], people: readonly PersonInput[], notes: string[],
): Promise<(person: number, face: DetectedFace) => number | undefined> {
  const wanted = people.map((p) => p.select === 'reference');
  if (!wanted.some(Boolean) || faces.length === 0) return () => undefined;
  const descriptors = new Map((await faceModels.describe(image, faces)).map((d, i) => [faces[i], d.descriptor]));
  const refs = await Promise.all(people.map(async (p, k) => {
    if (!wanted[k]) return undefined;
    if (!p.reference) {
      notes.push(`person ${k + 1}: select is "reference" but reference${k + 1} is not connected`);
      return undefined;
    }
    const descriptor = await referenceDescriptor(faceModels, p.reference);
    if (!descriptor) notes.push(`person ${k + 1}: no face in the reference image`);
    return descriptor;
  }));
  return (person, face) => {
    const a = refs[person];
    const b = descriptors.get(face);
    return a && b ? cosineSimilarity(a, b) : undefined;
  };
}
