import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { caption, filterIdentityTags } from '../../models/preprocess/tag-filter.ts';
import { majorityAttributes } from '../../models/preprocess/trigger-words.ts';
import type { TagSet } from '../../models/preprocess/values.ts';
import { Wd14Tagger } from '../../models/preprocess/wd14.ts';
import { safeJoin, type DataFolders } from '../../runtime/data-folder.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import { modelParam } from '../../runtime/params.ts';
import { faceModels } from '../face/face-models.ts';

/** The tagger's model file and its tag list: `<name>.csv` beside it, else `selected_tags.csv`. */
function taggerFiles(data: DataFolders, name: string): { model: string; tags: string } {
  const dir = path.join(data.models, 'taggers');
  mkdirSync(dir, { recursive: true });
  const model = safeJoin(dir, name);
  if (!existsSync(model)) throw new Error(`params.tagger: "${name}" is not in the model store's taggers folder`);
  const own = model.replace(/\.onnx$/i, '.csv');
  const tags = existsSync(own) ? own : path.join(path.dirname(model), 'selected_tags.csv');
  if (!existsSync(tags)) throw new Error(`params.tagger: no tag list for "${name}" (put ${path.basename(own)} or selected_tags.csv beside it)`);
  return { model, tags };
}

declare module '../../runtime/node.ts' {
  interface Services {
    /** Open WD14 taggers by model file and mtime. */
    taggers?: Map<string, Promise<Wd14Tagger>>;
  }
}

export default defineNode({
  type: 'tag/tagger',
  version: 2,
  category: 'tag',
  title: 'Caption faces',
  description:
    "Captions every photo as FaceChain does: gender and age per face (FaceRes), the set's majority gives the subject phrase of the paper's Table 1 " +
    '(0-20: "a boy, children" / "a girl, children"; 20-40: a handsome man / a beautiful woman; over 40: a mature man / a mature woman), after the trigger token. ' +
    'The "trigger" output is token and phrase ("<sks>, a handsome man"), the start of FaceChain\'s generation prompt: wire it to the sampler\'s trigger input. ' +
    'With a WD14-style ONNX tagger in models/taggers, its general tags follow, minus the identity-bound ones FaceChain removes (eyes, lips, nose, face, gender, ...). ' +
    'Without one, captions are token and subject only.',
  inputs: { faces: { type: 'FACES' } },
  outputs: {
    tags: { type: 'TAGS', description: 'Subject phrase and one caption per photo' },
    trigger: { type: 'STRING', description: 'Trigger token and subject phrase, e.g. "<sks>, a handsome man": what prompts for this person start with' },
  },
  params: z.object({
    token: z.string().regex(/^\S{1,32}$/, 'one word without spaces').default('<sks>').meta({ description: 'Trigger token the LoRA binds the identity to (FaceChain: <sks>)' }),
    tagger: modelParam('taggers', '', 'WD14-style ONNX tagger in models/taggers (tag list as <name>.csv or selected_tags.csv beside it); empty = none', { optional: true }),
    threshold: z.number().min(0.05).max(1).default(0.35).meta({ description: 'Tagger score a tag needs', step: 0.05 }),
  }),
  fingerprint: (p, data) => {
    if (!p.tagger) return '';
    const { model, tags } = taggerFiles(data, p.tagger);
    return [model, tags].map((f) => `${f}:${statSync(f).size}:${statSync(f).mtimeMs}`).join('|');
  },
  async run(ctx, { faces }, p) {
    const input = faces;
    const models = faceModels(ctx);
    let tagger: Wd14Tagger | undefined;
    if (p.tagger) {
      const files = taggerFiles(ctx.data, p.tagger);
      const key = `${files.model}:${statSync(files.model).mtimeMs}`;
      const taggers = (ctx.services.taggers ??= new Map());
      if (!taggers.has(key)) taggers.set(key, Wd14Tagger.open(files.model, files.tags));
      tagger = await taggers.get(key)!;
    }
    const attributes = [];
    const raw: string[][] = [];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      attributes.push(item.attributes ?? at(await models.describe(item.image, [item.face]), 0, 'face'));
      raw.push(tagger ? await tagger.tag(item.image, p.threshold) : []);
      ctx.progress((i + 1) / input.items.length, item.photo);
    }
    const set = majorityAttributes(attributes);
    ctx.log.info(`Subject: "${set.trigger}" (${set.votes.gender}/${set.votes.total} ${set.gender}, ${set.votes.band}/${set.votes.total} ${set.band}, median age ${set.age.toFixed(0)})`);
    const tags: TagSet = {
      token: p.token,
      subject: set.trigger,
      gender: set.gender,
      age: set.age,
      tagger: p.tagger,
      captions: input.items.map((item, i) => {
        const tags = at(raw, i);
        const kept = filterIdentityTags(tags);
        return { photo: item.photo, tags: kept, dropped: tags.filter((t) => !kept.includes(t.trim())), text: caption(p.token, set.trigger, kept) };
      }),
    };
    return { tags, trigger: caption(p.token, set.trigger, []) };
  },
});
