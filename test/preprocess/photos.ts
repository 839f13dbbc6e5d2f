// Single-person photos made from the face-api demo group shots (all women, 3-5 per shot): crops
// around one face chosen so no neighbour's face is in frame, plus turned and EXIF-tagged copies.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DEMO_FACES, demoPhoto, sharpOf } from '../fixtures/faces/photos.ts';

export interface TestPhoto {
  file: string;
  /** Demo photo number and face index in DEMO_FACES. */
  sample: number;
  face: number;
  /** How the pixels were turned clockwise before saving (no tag), or the EXIF orientation written. */
  turn?: number;
  exif?: 6 | 8 | 3;
}

/** The crop around one demo face: at most 700 px wide, keeping neighbours out. */
export async function singleFace(sample: number, face: number): Promise<Sharp> {
  const img = await demoPhoto(sample);
  const f = DEMO_FACES[sample]![face]!;
  const others = DEMO_FACES[sample]!.filter((g) => g !== f).map((g) => Math.max(Math.abs(g.nose.x - f.nose.x), Math.abs(g.nose.y - f.nose.y)));
  const half = Math.min(350, Math.min(...others) - 130);
  const left = Math.max(0, Math.round(f.nose.x - half));
  const top = Math.max(0, Math.round(f.nose.y - half * 1.2));
  const width = Math.min(img.width - left, 2 * half);
  const height = Math.min(img.height - top, Math.round(2.6 * half));
  return sharp(await sharpOf(img).extract({ left, top, width, height }).png().toBuffer());
}

/** Writes the photos as JPEGs into `dir`; EXIF-tagged ones hold pixels turned against their tag. */
export async function writeTestPhotos(dir: string, photos: readonly TestPhoto[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const p of photos) {
    let s = await singleFace(p.sample, p.face);
    // Orientation 6 means "turn 90 clockwise to view": store the pixels turned 90 counter-clockwise.
    const stored = p.exif ? { 6: 270, 8: 90, 3: 180 }[p.exif] : p.turn ?? 0;
    if (stored) s = sharp(await s.rotate(stored, { background: '#ffffff' }).png().toBuffer());
    if (p.exif) s = s.withMetadata({ orientation: p.exif });
    await s.jpeg({ quality: 92 }).toFile(path.join(dir, p.file));
  }
}
