import { statSync } from 'node:fs';
import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { modelParam } from '../../runtime/params.ts';
import { BUILTIN_CHECKPOINTS, builtinFingerprint, isBuiltinCheckpoint, loadSdModel, type BuiltinModels } from '../../models/sd/load-model.ts';
import { resolveModel } from '../../models/store/folders.ts';
import { sessionCache } from '../session-cache.ts';

declare module '../../runtime/node.ts' {
  interface Services {
    /** The built-in checkpoints this executor has loaded. */
    sdBuiltins?: BuiltinModels;
  }
}

export default defineNode({
  type: 'sd/load-checkpoint',
  version: 1,
  category: 'stable diffusion',
  title: 'Load checkpoint',
  description:
    'Loads a Stable Diffusion 1.5 model from data/models/checkpoints: a single .safetensors file in the usual ' +
    'v1-5-pruned-emaonly layout (fp32 or fp16), with CLIP\'s tokenizer files (vocab.json + merges.txt or ' +
    'tokenizer.json) in data/models/checkpoints/tokenizer/, or a diffusers folder (unet/, text_encoder/, vae/ as ' +
    '.safetensors, tokenizer/). The weights are not copied: the ONNX graphs point into the files. Two miniature ' +
    'models are built in. "demo" is a miniature trained on a handful of photos (the bundled portraits) for trying the ' +
    'pipeline: it draws small, blurry 256x256 faces (width and height 256) that the face nodes can find, nothing ' +
    'else; real portraits need an SD1.5 checkpoint. "tiny" has seeded random weights: it runs anywhere in seconds ' +
    'and makes noise-like images, for tests.',
  inputs: {},
  outputs: { model: { type: 'SD_MODEL' } },
  params: z.object({
    checkpoint: modelParam('checkpoints', 'tiny', 'A .safetensors file or diffusers folder in data/models/checkpoints, or a built-in miniature: "demo" (draws faces) or "tiny" (random)', { builtin: BUILTIN_CHECKPOINTS }),
  }),
  // The weights are read into memory when the sessions open: a file's size (a folder's is not counted).
  estimate: ({ data }, _inputs, p) => ({
    model: { bytes: isBuiltinCheckpoint(p.checkpoint) ? 0 : statSync(resolveModel(data.models, 'checkpoints', p.checkpoint)).size },
  }),
  fingerprint: (p, data) => {
    if (isBuiltinCheckpoint(p.checkpoint)) return builtinFingerprint(p.checkpoint);
    try {
      const s = statSync(resolveModel(data.models, 'checkpoints', p.checkpoint));
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  },
  async run(ctx, _inputs, p) {
    ctx.progress(0, `loading ${p.checkpoint}`);
    const model = await loadSdModel(p.checkpoint, ctx.data.models, (ctx.services.sdBuiltins ??= new Map()), sessionCache(ctx));
    ctx.progress(1);
    return { model };
  },
});
