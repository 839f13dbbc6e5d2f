// Which detected faces the face-detail pass repaints, and with whose settings: the faces above a
// size, numbered left to right; each person of the assignment list takes one of them (by that index,
// the largest left, or the one most like a reference face), then the rest are picked as `faces` says.
import { z } from 'zod';
import type { DetectedFace } from '../face/types.ts';

export const FaceChoiceSchema = z.enum(['all', 'largest', 'index', 'assigned']);

/** off: the person is not in the picture (their inputs are not used). */
export const PersonSelectSchema = z.enum(['off', 'index', 'largest', 'reference']);

export const PersonSchema = z.object({
  /** index: the index-th face from the left; largest: the largest face not yet taken; reference: the face most like the person's reference image. */
  select: PersonSelectSchema.default('index'),
  index: z.int().min(0).max(99).default(0),
  /** Replaces the node's prompt for this face when not empty (e.g. the person's trigger phrase). */
  prompt: z.string().max(2000).default(''),
});
export type Person = z.infer<typeof PersonSchema>;

export interface SelectOptions {
  faces: z.infer<typeof FaceChoiceSchema>;
  index: number;
  /** Faces whose box is smaller than this (longer side, px) are left alone. */
  minSize: number;
  maxFaces: number;
}

/** A face to repaint: its left-to-right number among the faces above the size, and the person (index in the list) or none. */
export interface FaceJob {
  face: DetectedFace;
  order: number;
  person?: number;
  /** For `reference` people: the identity similarity that chose the face. */
  similarity?: number;
}

const size = (f: DetectedFace) => Math.max(f.box.width, f.box.height);
const area = (f: DetectedFace) => f.box.width * f.box.height;

/**
 * The faces to repaint, left to right. `similarity(person, face)` scores a face for a `reference`
 * person (cosine of identity descriptors); `notes` collects what could not be assigned.
 */
export function selectFaces(
  faces: readonly DetectedFace[], o: SelectOptions, people: readonly Person[],
  similarity: (person: number, face: DetectedFace) => number | undefined, notes: string[] = [],
): FaceJob[] {
  const eligible = faces.filter((f) => size(f) >= o.minSize).sort((a, b) => a.box.x + a.box.width / 2 - (b.box.x + b.box.width / 2));
  const jobs = new Map<DetectedFace, FaceJob>();
  const free = () => eligible.filter((f) => !jobs.has(f));
  const take = (face: DetectedFace | undefined, person?: number, sim?: number) => {
    if (face && !jobs.has(face) && jobs.size < o.maxFaces) jobs.set(face, { face, order: eligible.indexOf(face), person, similarity: sim });
  };
  people.forEach((p, k) => {
    const before = jobs.size;
    if (p.select === 'off') return;
    if (p.select === 'index') {
      const face = eligible[p.index];
      if (!face) notes.push(`person ${k + 1}: no face number ${p.index} (${eligible.length} faces of at least ${o.minSize} px)`);
      else if (jobs.has(face)) notes.push(`person ${k + 1}: face ${p.index} is taken by person ${jobs.get(face)!.person! + 1}`);
      else take(face, k);
    } else if (p.select === 'largest') {
      take(free().reduce<DetectedFace | undefined>((a, f) => (!a || area(f) > area(a) ? f : a), undefined), k);
    } else {
      let best: { face: DetectedFace; s: number } | undefined;
      for (const face of free()) {
        const s = similarity(k, face);
        if (s !== undefined && (!best || s > best.s)) best = { face, s };
      }
      if (best) take(best.face, k, best.s);
    }
    if (jobs.size === before && p.select !== 'index') notes.push(`person ${k + 1}: no face left to take (${eligible.length} faces of at least ${o.minSize} px)`);
    else if (jobs.size === before && eligible[p.index] && !jobs.has(eligible[p.index]!)) notes.push(`person ${k + 1}: over maxFaces (${o.maxFaces})`);
  });
  const rest = free();
  if (o.faces === 'all') rest.forEach((f) => take(f));
  else if (o.faces === 'largest') take(rest.reduce<DetectedFace | undefined>((a, f) => (!a || area(f) > area(a) ? f : a), undefined));
  else if (o.faces === 'index') take(eligible[o.index] && rest.includes(eligible[o.index]!) ? eligible[o.index] : undefined);
  return [...jobs.values()].sort((a, b) => a.order - b.order);
}
