// Optional booru-style tagger in the WD14 layout (SmilingWolf's wd-*-tagger ONNX exports): input
// [1, H, W, 3] float BGR 0..255, the image padded square with white; output one sigmoid per tag in
// the order of `selected_tags.csv` (tag_id,name,category,count; category 0 = general, 4 = character,
// 9 = rating). Only general tags above the threshold become caption tags.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { at } from '../../protocol/index.ts';
import { fromImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';
import { ort, type OrtSession } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';

export interface TagVocabulary { names: string[]; categories: number[] }

export const GENERAL_CATEGORY = 0;

export function parseSelectedTags(csv: string): TagVocabulary {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim());
  const header = lines.shift()?.split(',') ?? [];
  const nameAt = header.indexOf('name');
  const catAt = header.indexOf('category');
  if (nameAt < 0 || catAt < 0) throw new Error('tag list needs "name" and "category" columns (WD14 selected_tags.csv)');
  const names: string[] = [];
  const categories: number[] = [];
  for (const line of lines) {
    const cells = line.split(',');
    names.push(cells[nameAt]!);
    categories.push(Number(cells[catAt]));
  }
  return { names, categories };
}

/** General tags scoring at least `threshold`, most probable first. */
export function pickTags(probs: ArrayLike<number>, vocab: TagVocabulary, threshold: number): string[] {
  if (probs.length !== vocab.names.length) throw new Error(`tagger gives ${probs.length} scores for ${vocab.names.length} tags`);
  const hits: [string, number][] = [];
  for (let i = 0; i < probs.length; i++) {
    if (vocab.categories[i] === GENERAL_CATEGORY && probs[i]! >= threshold) hits.push([vocab.names[i]!, probs[i]!]);
  }
  return hits.sort((a, b) => b[1] - a[1]).map(([n]) => n);
}

export class Wd14Tagger {
  private constructor(
    private readonly session: OrtSession,
    private readonly vocab: TagVocabulary,
    private readonly size: number,
  ) {}

  static async open(modelPath: string, tagsPath: string): Promise<Wd14Tagger> {
    const session = await createSession(modelPath);
    const meta = session.inputMetadata[0]!;
    const side = meta?.isTensor ? meta.shape[1] : undefined;
    if (typeof side !== 'number' || !meta.isTensor || meta.shape[3] !== 3) {
      throw new Error(`${modelPath}: expected an NHWC input [1, H, W, 3] (WD14 layout)`);
    }
    return new Wd14Tagger(session, parseSelectedTags(await readFile(tagsPath, 'utf8')), side);
  }

  async tag(image: Image, threshold: number): Promise<string[]> {
    const side = Math.max(image.width, image.height);
    const square = await fromImage(image)
      .flatten({ background: '#ffffff' })
      .extend({
        left: Math.floor((side - image.width) / 2), right: Math.ceil((side - image.width) / 2),
        top: Math.floor((side - image.height) / 2), bottom: Math.ceil((side - image.height) / 2), background: '#ffffff',
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgb = await sharp(square.data, { raw: square.info }).resize(this.size, this.size, { kernel: 'cubic' }).removeAlpha().raw().toBuffer();
    const bgr = new Float32Array(rgb.length);
    for (let i = 0; i < rgb.length; i += 3) {
      bgr[i] = rgb[i + 2]!;
      bgr[i + 1] = rgb[i + 1]!;
      bgr[i + 2] = rgb[i]!;
    }
    const out = await this.session.run({ [at(this.session.inputNames, 0, 'input')]: new ort.Tensor('float32', bgr, [1, this.size, this.size, 3]) });
    return pickTags(out[this.session.outputNames[0]!]!.data as Float32Array, this.vocab, threshold);
  }
}
