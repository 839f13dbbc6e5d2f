// Stable Diffusion 1.5 checkpoints with their published sha256 (the Hugging Face LFS object ids; A1111
// shows the first 10 digits as the model hash) and sizes in bytes.
import type { KnownModel } from '../store/known.ts';

const SOURCE = 'https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5';
const LICENCE = 'CreativeML Open RAIL-M';

export const SD_CHECKPOINTS: KnownModel[] = [
  {
    id: 'sd15-pruned-emaonly',
    kind: 'checkpoints',
    files: [{ path: 'v1-5-pruned-emaonly.safetensors', sha256: '6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa', size: 4265146304 }],
    sha256: '6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa',
    source: SOURCE,
    licence: LICENCE,
    description: 'Stable Diffusion 1.5, EMA weights only (fp32): the base FaceChain trains its face LoRA on',
  },
  {
    id: 'sd15-pruned',
    kind: 'checkpoints',
    files: [{ path: 'v1-5-pruned.safetensors', sha256: '1a189f0be69d6106a48548e7626207dddd7042a418dbf372cefd05e0cdba61b6', size: 7703324286 }],
    sha256: '1a189f0be69d6106a48548e7626207dddd7042a418dbf372cefd05e0cdba61b6',
    source: SOURCE,
    licence: LICENCE,
    description: 'Stable Diffusion 1.5, fp32, with an EMA copy beside the weights (read: the non-EMA weights; model_ema.* is skipped)',
  },
];
