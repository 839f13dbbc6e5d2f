// Quarter-turn vote: a photo taken sideways (and without an EXIF tag saying so) is tried in all four
// orientations; the one with the most confident upright face wins.
import type { DetectedFace } from '../face/types.ts';

export const QUARTER_TURNS = [0, 90, 180, 270] as const;
export type QuarterTurn = (typeof QUARTER_TURNS)[number];

/** Faces leaning more than this (radians) do not count as upright in a vote. */
const MAX_UPRIGHT_ROLL = Math.PI / 4;

/** The best upright face's confidence (detector score times face flag), 0 when there is none. */
export function uprightScore(faces: readonly DetectedFace[]): number {
  return Math.max(0, ...faces.filter((f) => Math.abs(f.roll) < MAX_UPRIGHT_ROLL).map((f) => f.score * f.faceness));
}

/** The winning clockwise turn; the photo as it is wins ties and when no orientation shows a face. */
export function pickQuarterTurn(scores: Readonly<Record<QuarterTurn, number>>): QuarterTurn {
  let best: QuarterTurn = 0;
  for (const t of QUARTER_TURNS) if (scores[t] > scores[best]) best = t;
  return best;
}
