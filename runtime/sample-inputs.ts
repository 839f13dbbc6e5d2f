import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { DataFolders } from './data-folder.ts';

/**
 * The demo photos that @vladmandic/face-api ships (group photos, MIT), copied into input/samples on first
 * start so the shipped graphs run on a fresh data folder.
 */
export function ensureSampleInputs(data: DataFolders): string {
  const target = path.join(data.input, 'samples');
  if (existsSync(target) && readdirSync(target).length) return target;
  const demo = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
  mkdirSync(target, { recursive: true });
  for (const f of readdirSync(demo).filter((f) => /^sample\d\.jpg$/.test(f))) copyFileSync(path.join(demo, f), path.join(target, f));
  return target;
}
