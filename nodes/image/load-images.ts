import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { inputPathParam } from '../../runtime/params.ts';
import { safeJoin, type DataFolders } from '../../runtime/data-folder.ts';
import { resolveUploadId } from '../../runtime/input-path.ts';
import { decodeImage } from '../../runtime/image-io.ts';
import { imageHeader } from '../../runtime/image-header.ts';
import { readInside } from '../../runtime/safe-open.ts';
import { at, isImageFile } from '../../protocol/index.ts';

const params = z.object({
  path: inputPathParam('samples', 'A file or folder inside the data input folder, or the id an upload answered with (uploads land in uploads/)'),
  limit: z.number().int().min(1).max(1000).default(100).meta({ description: 'Read at most this many images (sorted by name)' }),
  applyExif: z.boolean().default(true).meta({ description: 'Turn images upright by their EXIF orientation tag' }),
});

/** The image files a `path` param names, sorted by name. */
export function listImageFiles(data: DataFolders, relative: string, limit: number): string[] {
  const target = safeJoin(data.input, resolveUploadId(data, relative));
  let stat;
  try {
    stat = statSync(target);
  } catch {
    throw new Error(`params.path: "${relative}" does not exist in the input folder`);
  }
  if (stat.isFile()) return [target];
  const files = readdirSync(target)
    .filter(isImageFile)
    .sort()
    .slice(0, limit)
    .map((f) => path.join(target, f));
  if (!files.length) throw new Error(`params.path: no images in "${relative}"`);
  return files;
}

export default defineNode({
  type: 'image/load-images',
  version: 1,
  category: 'image',
  title: 'Load images',
  description:
    'Reads one image or every image in a folder of the data input folder (JPEG, PNG, WebP, AVIF, TIFF, HEIF). Outputs the list and the first image.',
  inputs: {},
  outputs: {
    images: { type: 'IMAGES', description: 'All images read, in name order' },
    image: { type: 'IMAGE', description: 'The first image' },
  },
  params,
  // Sized from the files' headers: what decoding them all will take (grey widens to RGB).
  async estimate({ data }, _inputs, p) {
    const sizes = await Promise.all(listImageFiles(data, p.path, p.limit).map(imageHeader));
    const shapes = sizes.map((m) => {
      const turned = p.applyExif && m.orientation >= 5;
      return { width: turned ? m.height : m.width, height: turned ? m.width : m.height, channels: m.hasAlpha ? 4 : 3 };
    });
    const max = (k: 'width' | 'height' | 'channels') => Math.max(0, ...shapes.map((s) => s[k]));
    const images = { count: shapes.length, width: max('width'), height: max('height'), channels: max('channels') };
    const first = shapes[0] ?? { width: 0, height: 0, channels: 3 };
    return {
      images: { bytes: shapes.reduce((sum, s) => sum + s.width * s.height * s.channels, 0), images },
      // The first image is the same object as images[0]: it holds nothing more.
      image: { bytes: 0, images: { count: 1, ...first } },
    };
  },
  fingerprint: (p, data) =>
    listImageFiles(data, p.path, p.limit)
      .map((f) => `${f}:${statSync(f).size}:${statSync(f).mtimeMs}`)
      .join('|'),
  async run(ctx, _inputs, p) {
    const files = listImageFiles(ctx.data, p.path, p.limit);
    const images = [];
    for (const [i, file] of files.entries()) {
      ctx.signal.throwIfAborted();
      const relative = path.relative(ctx.data.input, file);
      try {
        // Read through the data folder's check (a link in the folder must not lead out), then decoded.
        images.push(await decodeImage(await readInside(ctx.data.input, relative), { autoOrient: p.applyExif, name: path.basename(file) }));
      } catch (e) {
        throw new Error(`Cannot read "${relative}": ${(e as Error).message}`);
      }
      ctx.progress((i + 1) / files.length, path.basename(file));
    }
    ctx.preview(images.slice(0, 8));
    return { images, image: at(images, 0, 'image') }; // listImageFiles found one at least
  },
});
