import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { isImageFile, type InputEntry, type Inputs, type Models, type Upload } from '../../protocol/index.ts';
import { readInside, writeInside } from '../../runtime/safe-open.ts';
import { listModels, MODEL_KINDS, ModelKindSchema } from '../../models/store/folders.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../http-error.ts';

export const UPLOAD_LIMITS = { bytes: 25 * 1024 * 1024, pixels: 40_000_000 };
const FORMATS: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', heif: 'heic', tiff: 'tiff', gif: 'gif' };

/** Runs a sharp step on uploaded bytes; a failure means the bytes are no image sharp can read. */
async function readImage<T>(bytes: Buffer, step: (image: Sharp) => Promise<T>, options?: SharpOptions): Promise<T> {
  try {
    return await step(sharp(bytes, options));
  } catch (e) {
    throw new HttpError(400, `Not an image sharp can read: ${(e as Error).message}`);
  }
}

function walk(root: string, dir: string, out: InputEntry[], depth = 0) {
  if (depth > 4 || out.length > 5000) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(root, full).split(path.sep).join('/');
    if (entry.isDirectory()) {
      out.push({ path: rel, kind: 'folder' });
      walk(root, full, out, depth + 1);
    } else if (entry.isFile() && isImageFile(entry.name)) {
      out.push({ path: rel, kind: 'file', size: statSync(full).size });
    }
  }
}

export function inputRoutes(ctx: ServerContext): Router {
  const r = Router();
  r.post('/uploads', express.raw({ type: () => true, limit: UPLOAD_LIMITS.bytes }), async (req, res) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'Send the image bytes as the request body');
    const meta = await readImage(body, (image) => image.metadata(), { limitInputPixels: false });
    const ext = meta.format && FORMATS[meta.format];
    if (!ext || !meta.width || !meta.height) throw new HttpError(400, `Unsupported image format "${meta.format ?? 'unknown'}"`);
    // Checked on the header before decoding: sharp's own limit would answer "not an image".
    if (meta.width * meta.height > UPLOAD_LIMITS.pixels) {
      throw new HttpError(413, `Image is ${meta.width}x${meta.height} (${meta.width * meta.height} pixels); the upload limit is ${UPLOAD_LIMITS.pixels} pixels`);
    }
    // Decode fully once: a truncated or hostile file fails here, not in a later run.
    await readImage(body, (image) => image.resize(8, 8).raw().toBuffer(), { limitInputPixels: UPLOAD_LIMITS.pixels, failOn: 'error' });
    mkdirSync(path.join(ctx.data.input, 'uploads'), { recursive: true });
    const id = randomBytes(8).toString('hex');
    await writeInside(ctx.data.input, `uploads/${id}.${ext}`, body);
    res.status(201).json({ id, path: `uploads/${id}.${ext}`, width: meta.width, height: meta.height } satisfies Upload);
  });
  r.get('/inputs', (_req, res) => {
    const entries: InputEntry[] = [];
    walk(ctx.data.input, ctx.data.input, entries);
    res.json({ entries } satisfies Inputs);
  });
  r.get('/inputs/thumbnail', async (req, res) => {
    const file = await readInside(ctx.data.input, String(req.query.path ?? ''));
    const size = Math.min(1024, Math.max(16, Number(req.query.size) || 256));
    try {
      const jpeg = await sharp(file, { limitInputPixels: 100_000_000 }).autoOrient().resize(size, size, { fit: 'inside' }).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer();
      res.type('image/jpeg').send(jpeg);
    } catch {
      throw new HttpError(404, 'No readable image at that path');
    }
  });
  r.get('/models', (req, res) => {
    const kind = ModelKindSchema.safeParse(req.query.kind);
    if (!kind.success) throw new HttpError(400, `kind: one of ${MODEL_KINDS.join(', ')} (got ${JSON.stringify(req.query.kind ?? null)})`);
    res.json({ kind: kind.data, files: listModels(ctx.data.models, kind.data) } satisfies Models);
  });
  return r;
}
