import { defineNode } from '../../runtime/node.ts';
import { z } from 'zod';
import { SdModel } from '../../models/sd/sd-model.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { isLatent } from '../../models/sd/latent.ts';
import { imagesEstimate } from '../../runtime/memory-estimate.ts';

export default defineNode({
  type: 'sd/vae-decode',
  version: 1,
  category: 'stable diffusion',
  title: 'VAE decode',
  description: 'Turns latent images into RGB images (8x their latent size) with the model\'s VAE decoder.',
  inputs: { model: { type: 'SD_MODEL' }, latent: { type: 'LATENT' } },
  outputs: { images: { type: 'IMAGES' } },
  params: z.object({}),
  estimate: (_ctx, { latent }) => ({ images: latent?.images ? imagesEstimate(latent.images) : { bytes: 0 } }),
  async run(ctx, inputs) {
    if (!(inputs.model instanceof SdModel)) throw new Error('model input is not a loaded SD model');
    if (!isLatent(inputs.latent)) throw new Error('latent input is not a latent batch');
    ctx.signal.throwIfAborted();
    const images = await decodeLatents(inputs.model, inputs.latent);
    ctx.preview(images.slice(0, 8));
    return { images };
  },
});
