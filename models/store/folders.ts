// The model folders users know, under <data>/models/, and what each holds. Every user-given path is
// resolved inside its folder.
import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { safeJoin } from '../../runtime/data-folder.ts';

export const MODEL_KINDS = ['checkpoints', 'loras', 'face', 'vae', 'embeddings', 'taggers', 'converted'] as const;
export const ModelKindSchema = z.enum(MODEL_KINDS);
export type ModelKind = z.infer<typeof ModelKindSchema>;

// Only safetensors for weights: .ckpt/.pt/.bin are pickles, which can run code when read.
const FILES: Record<ModelKind, RegExp> = {
  checkpoints: /\.safetensors$/i,
  loras: /\.safetensors$/i,
  vae: /\.safetensors$/i,
  embeddings: /\.safetensors$/i,
  face: /\.onnx$/i,
  taggers: /\.onnx$/i,
  converted: /\.onnx$/i,
};

/** A diffusers folder (model_index.json inside) is one checkpoint. */
const DIFFUSERS_MARKER = 'model_index.json';

export interface ModelEntry {
  /** Relative to the kind's folder, with forward slashes. */
  path: string;
  size: number;
  kind: 'file' | 'folder';
}

/** `<models>/<kind>`; a kind not in MODEL_KINDS is an error. */
export function kindFolder(modelsDir: string, kind: string): string {
  const k = ModelKindSchema.safeParse(kind);
  if (!k.success) throw new Error(`Unknown model kind "${kind}" (one of ${MODEL_KINDS.join(', ')})`);
  return path.join(modelsDir, k.data);
}

/** A user-given path inside a kind's folder (no `..`, no absolute paths, no links leading out). */
export function resolveModel(modelsDir: string, kind: ModelKind, relative: string): string {
  const dir = kindFolder(modelsDir, kind);
  if (!existsSync(dir)) throw new Error(`data/models/${kind} does not exist yet: put the model there`);
  return safeJoin(dir, relative);
}

/**
 * The models of one kind, for pickers: matching files in the folder and its subfolders (4 deep), and for
 * checkpoints diffusers folders as single entries. Sorted by path; a missing folder lists nothing.
 */
export function listModels(modelsDir: string, kind: ModelKind): ModelEntry[] {
  const root = kindFolder(modelsDir, kind);
  const out: ModelEntry[] = [];
  if (existsSync(root)) walk(root, root, kind, out, 0);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function walk(root: string, dir: string, kind: ModelKind, out: ModelEntry[], depth: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    const rel = path.relative(root, full).split(path.sep).join('/');
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) {
      if (kind === 'checkpoints' && isDiffusersFolder(full)) out.push({ path: rel, size: folderSize(full, 0), kind: 'folder' });
      else if (depth < 4) walk(root, full, kind, out, depth + 1);
    } else if (e.isFile() && FILES[kind].test(e.name)) {
      out.push({ path: rel, size: statSync(full).size, kind: 'file' });
    }
  }
}

function folderSize(dir: string, depth: number): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isFile()) total += statSync(full).size;
    else if (e.isDirectory() && depth < 2) total += folderSize(full, depth + 1);
  }
  return total;
}

/** Whether a path inside the checkpoints folder is a diffusers folder. */
export function isDiffusersFolder(dir: string): boolean {
  return existsSync(path.join(dir, DIFFUSERS_MARKER));
}
