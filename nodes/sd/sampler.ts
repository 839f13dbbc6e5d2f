import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { SdModel } from '../../models/sd/sd-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { latentPreview } from '../../models/sd/latent-preview.ts';
import { checkLoraBase, isLoraSchedule } from '../../models/sd/lora-schedule.ts';
import { samplerParams, samplingParams, startImage } from './sampling-params.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { warnBakeOnly } from '../lora/bake-only.ts';
import { blurMask, maskAt, MaskedContentSchema } from '../../models/sd/inpaint.ts';

export default defineNode({
  type: 'sd/sampler',
  version: 1,
  category: 'stable diffusion',
  title: 'Sampler',
  description:
    'Generates latent images from a prompt with classifier-free guidance (txt2img), or from an input image ' +
    '(img2img: the image is resized to width x height, encoded, noised to `strength` and denoised). Prompts ' +
    'take A1111 weights: (word:1.2), (word), [word], BREAK; long prompts are encoded in 75-token chunks. ' +
    'Image i of a batch uses seed + i. Defaults: DPM++ 2M Karras, 20 steps, CFG 7 (common SD1.5 settings). ' +
    'Inpainting: with a mask (white = repaint) only the masked region of the image is redrawn; an inpainting ' +
    'checkpoint (sd-v1-5-inpainting, 9 UNet input channels) is given the mask and the masked image, any other ' +
    'has the rest re-noised from the image and blended in every step; decoding pastes the image back outside the mask. ' +
    'On the built-in demo model (the shipped graphs\' default) it draws small, blurry 256x256 faces: real portraits need an SD1.5 checkpoint.',
  inputs: {
    model: { type: 'SD_MODEL' },
    loras: { type: 'LORA_STACK', optional: true, description: 'LoRAs mixed in without reloading the model; they must be made for its base (SD1.5 LoRAs on an SD1.5 model)' },
    image: { type: 'IMAGE', optional: true, description: 'Start image for img2img' },
    mask: { type: 'MASK', optional: true, description: 'Inpainting: where to repaint the start image (white) and where to keep it (black); resized like the image' },
    trigger: {
      type: 'STRING',
      optional: true,
      description: 'Put before the prompt with a comma, e.g. Caption faces\' trigger output ("<sks>, a handsome man"), so the prompt names the person the face LoRA learned',
    },
  },
  outputs: { latent: { type: 'LATENT' } },
  params: z.object({
    ...samplingParams,
    ...samplerParams,
    maskBlur: z.number().min(0).max(64).default(4).meta({ description: 'Inpainting: softness of the mask edge (Gaussian sigma, px)', step: 1 }),
    maskedContent: MaskedContentSchema.default('original').meta({ description: 'Inpainting: what the masked region starts from: the image, latent noise, or the mean colour of the rest' }),
  }),
  // The latent batch (float32, 4 channels at 1/8 size) carries the image size it decodes to.
  estimate: (_ctx, _inputs, p) => ({
    latent: { bytes: p.batch * 4 * (p.width / 8) * (p.height / 8) * 4, images: { count: p.batch, width: p.width, height: p.height, channels: 3 } },
  }),
  async run(ctx, inputs, p) {
    if (!(inputs.model instanceof SdModel)) throw new Error('model input is not a loaded SD model');
    const loras = inputs.loras;
    if (loras !== undefined && !isLoraSchedule(loras)) throw new Error('loras input is not a LoRA stack');
    const model = inputs.model;
    if (loras) checkLoraBase(loras, model, 'loras');
    if (loras instanceof LoraStack) warnBakeOnly(ctx.log, loras, 'loras input');
    const init = inputs.image && (await startImage(inputs.image, p.width, p.height));
    if (inputs.mask && !init) throw new Error('inputs.mask: inpainting needs the image input too');
    const mask = inputs.mask && (await blurMask(await maskAt(inputs.mask, p.width, p.height), p.maskBlur));
    const prompt = inputs.trigger ? `${inputs.trigger}, ${p.prompt}` : p.prompt;
    if (inputs.trigger) ctx.log.info(`Prompt: ${prompt}`);
    const latent = await sample(model, { ...p, prompt }, {
      signal: ctx.signal,
      init,
      mask,
      textLora: loras?.text,
      unetLora: loras && ((i, total) => loras.unet(i, total)),
      onStep: (s) => {
        ctx.progress((s.index + 1) / s.total, `step ${s.index + 1}/${s.total}`);
        ctx.preview(Array.from({ length: p.batch }, (_, i) => latentPreview(s.latent, i, s.width, s.height)));
      },
    });
    return { latent: init && mask ? { ...latent, overlay: { image: init, mask } } : latent };
  },
});
