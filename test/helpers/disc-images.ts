// The training images of the tiny-model trainer tests: four 64x64 colours, each with a white disc a
// little further right, so a LoRA has something to learn and each image differs.
import sharp from 'sharp';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import type { Dataset } from '../../models/preprocess/values.ts';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

export function discImages(): Promise<Image[]> {
  return Promise.all(['#d33', '#3a3', '#33d', '#dd3'].map((c, i) => {
    const disc = `<svg width="64" height="64"><circle cx="${20 + i * 8}" cy="32" r="14" fill="#fff"/></svg>`;
    return toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: c } }).composite([{ input: Buffer.from(disc) }]).removeAlpha());
  }));
}

/** The disc images as a dataset in `dir`, captioned `text`, trigger `<sks>`. */
export async function discDataset(dir: string, text: string, subject: string, images?: Image[]): Promise<Dataset> {
  const all = images ?? (await discImages());
  return writeDataset(dir, all.map((image, i) => ({ image, photo: `p${i}.png`, text })), { token: '<sks>', subject });
}
