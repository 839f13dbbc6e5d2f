import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { DataFolders } from './data-folder.ts';

/**
 * Single-person crops of the demo group photos (one woman each, no neighbour's face in frame), so the
 * FaceChain graphs, whose detector keeps one subject per photo, run on a fresh data folder.
 */
const PORTRAITS = [
  { sample: 6, left: 1135, top: 335, width: 290, height: 377 },
  { sample: 3, left: 788, top: 0, width: 696, height: 905 },
  { sample: 1, left: 1192, top: 0, width: 700, height: 910 },
  { sample: 4, left: 532, top: 1, width: 346, height: 450 },
  { sample: 6, left: 198, top: 433, width: 402, height: 523 },
  { sample: 5, left: 553, top: 340, width: 378, height: 491 },
];

function demoPhotosDir(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
}

/** The single-person crops of the demo photos, as sharp pipelines (input/portraits; the demo model's training set). */
export function portraitCrops(): Sharp[] {
  return PORTRAITS.map(({ sample, ...box }) => sharp(path.join(demoPhotosDir(), `sample${sample}.jpg`)).extract(box));
}

/** The demo LoRAs (models/sd/demo/loras.ts trains them on the demo model), copied into models/loras on first start. */
export const DEMO_LORA_DIR = path.join(import.meta.dirname, '../models/sd/demo/loras');

/**
 * The demo photos that @vladmandic/face-api ships (group photos, MIT), copied into input/samples on first
 * start, and single-person crops of them in input/portraits, so the shipped graphs run on a fresh data folder;
 * also the demo model's face and style LoRAs into models/loras.
 */
export async function ensureSampleInputs(data: DataFolders): Promise<void> {
  const demo = demoPhotosDir();
  const samples = path.join(data.input, 'samples');
  if (!existsSync(samples) || !readdirSync(samples).length) {
    mkdirSync(samples, { recursive: true });
    for (const f of readdirSync(demo).filter((f) => /^sample\d\.jpg$/.test(f))) copyFileSync(path.join(demo, f), path.join(samples, f));
  }
  const portraits = path.join(data.input, 'portraits');
  if (!existsSync(portraits) || !readdirSync(portraits).length) {
    mkdirSync(portraits, { recursive: true });
    for (const [i, crop] of portraitCrops().entries()) await crop.jpeg({ quality: 92 }).toFile(path.join(portraits, `portrait${i + 1}.jpg`));
  }
  // The LoRAs the shipped graphs name, unless the user has files of those names (the portrait graph overwrites my-face-lora).
  const loras = path.join(data.models, 'loras');
  mkdirSync(loras, { recursive: true });
  for (const f of existsSync(DEMO_LORA_DIR) ? readdirSync(DEMO_LORA_DIR) : []) {
    if (!existsSync(path.join(loras, f))) copyFileSync(path.join(DEMO_LORA_DIR, f), path.join(loras, f));
  }
}
