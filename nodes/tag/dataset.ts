import { z } from 'zod';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import { defineNode } from '../../runtime/node.ts';

export default defineNode({
  type: 'tag/dataset',
  version: 1,
  category: 'tag',
  title: 'Training set',
  description:
    'Writes the captioned training set into the run cache: numbered PNGs and metadata.jsonl with one {"file_name", "text"} line per image (the layout FaceChain\'s LoRA trainer reads), ' +
    'and lists the photos left out and why.',
  inputs: {
    faces: { type: 'FACES', description: 'The final images (usually heads on white)' },
    tags: { type: 'TAGS', description: 'Captions for the same photos' },
  },
  outputs: {
    dataset: { type: 'DATASET' },
    report: { type: 'STRING', description: 'One line per photo: kept with its caption, or left out with the reason' },
  },
  params: z.object({}),
  async run(ctx, { faces, tags }, _p) {
    const set = faces;
    const captions = tags;
    const items = set.items.map((item) => {
      const c = captions.captions.find((x) => x.photo === item.photo);
      if (!c) throw new Error(`inputs.tags: no caption for "${item.photo}" (the tags come from another set of faces)`);
      return { image: item.image, photo: item.photo, text: c.text };
    });
    const dataset = await writeDataset(ctx.cacheDir(), items, { token: captions.token, subject: captions.subject });
    const report = [
      ...dataset.entries.map((e) => `kept ${e.photo} as ${e.file_name}: ${e.text}`),
      ...set.rejected.map((r) => `left out ${r.photo}: ${r.reason} (${r.stage})`),
    ].join('\n');
    ctx.log.info(`Training set: ${dataset.entries.length} image(s) in ${dataset.dir}; ${set.rejected.length} photo(s) left out`);
    ctx.preview(items.slice(0, 8).map((it) => it.image));
    return { dataset, report };
  },
});
