// The training set on disk in the layout FaceChain's LoRA trainer (diffusers' imagefolder) reads:
// numbered PNGs and metadata.jsonl with one {"file_name", "text"} object per line.
import path from 'node:path';
import { encodePng } from '../../runtime/image-io.ts';
import { writeInside } from '../../runtime/safe-open.ts';
import type { Image } from '../../runtime/values.ts';
import type { Dataset } from './values.ts';

export interface DatasetItem { image: Image; photo: string; text: string }

export async function writeDataset(dir: string, items: readonly DatasetItem[], meta: { token: string; subject: string }): Promise<Dataset> {
  if (!items.length) throw new Error('a dataset needs at least one image');
  const entries = [];
  for (const [i, item] of items.entries()) {
    const file_name = `${String(i).padStart(3, '0')}.png`;
    // writeInside: a link planted in the cache folder is replaced, never written through.
    await writeInside(dir, file_name, await encodePng(item.image));
    entries.push({ file_name, text: item.text, photo: item.photo });
  }
  const metadata = path.join(dir, 'metadata.jsonl');
  await writeInside(dir, 'metadata.jsonl', entries.map(({ file_name, text }) => JSON.stringify({ file_name, text })).join('\n') + '\n');
  return { dir, metadata, token: meta.token, subject: meta.subject, resolution: items[0]!.image.width, entries };
}
