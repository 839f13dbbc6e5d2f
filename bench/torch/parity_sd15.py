#!/usr/bin/env python3
"""Full-size SD1.5 parity reference for bench/parity-sd15.ts: seeded random SD1.5-size weights written
as an LDM single-file checkpoint (fp16) with a kohya LoRA, and the outputs of the reference
implementations (CompVis LDM UNet and VAE, OpenAI CLIP text transformer) on fixed inputs.

Usage: /usr/bin/python3 bench/torch/parity_sd15.py REFS OUT [LATENT]
REFS: the reference checkouts named in test/fixtures/parity/reference.py. LATENT: latent side (64 = 512 px).
Writes OUT/sd15-parity.safetensors, OUT/sd15-parity-lora.safetensors, OUT/reference.safetensors.
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'parity'))
import reference as R  # noqa: E402

REFS, OUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
LATENT = int(sys.argv[3]) if len(sys.argv) > 3 else 64

# v1-inference.yaml and CLIP ViT-L/14's text model.
UNET = dict(model_channels=320, channel_mult=[1, 2, 4, 4], num_res_blocks=2, attention_resolutions=[4, 2, 1],
            num_heads=8, context_dim=768, transformer_depth=1)
VAE = dict(ch=128, ch_mult=[1, 2, 4, 4], num_res_blocks=2, z_channels=4, embed_dim=4)
TEXT = dict(vocab=49408, width=768, layers=12, heads=12, tokens=77)
SCALE = 0.18215

ref = R.load(REFS)
torch.manual_seed(0)
torch.set_grad_enabled(False)
out, seconds = {}, {}


def timed(name, f):
    t = time.perf_counter()
    r = f()
    seconds[name] = time.perf_counter() - t
    return r


unet = R.randomize(R.unet_model(ref, UNET))
vae = R.randomize(R.vae_model(ref, VAE))
text = R.randomize(R.text_model(ref, TEXT))
R.write_safetensors(os.path.join(OUT, 'sd15-parity.safetensors'),
                    {k: v.half().contiguous() for k, v in R.checkpoint(unet, vae, text).items()})

ids = R.token_ids(TEXT['vocab'], TEXT['tokens'], [11, 59])
out['input_ids'] = ids
out['hidden'], out['hidden_skip2'] = timed('text', lambda: R.encode_text(text, ids))

sample = torch.randn(1, 4, LATENT, LATENT)
timestep = torch.tensor([500.0])
context = torch.randn(1, TEXT['tokens'], UNET['context_dim'])
out.update(sample=sample, timestep=timestep, context=context)
out['eps'] = timed('unet', lambda: unet(sample, timestep, context=context))

lora, merged_unet, _ = R.make_lora(unet, text, UNET['num_res_blocks'], 4, 2.0)
R.write_safetensors(os.path.join(OUT, 'sd15-parity-lora.safetensors'), {k: v.contiguous() for k, v in lora.items()})
unet.load_state_dict(merged_unet)
del merged_unet
out['eps_lora'] = timed('unet_lora', lambda: unet(sample, timestep, context=context))
del unet

latent = torch.randn(1, 4, LATENT, LATENT)
out['latent'] = latent
out['decoded'] = timed('vae_decoder', lambda: R.vae_decode(vae, latent, SCALE))
image = R.test_image(8 * LATENT)
out['image'] = image
out['mean'], out['std'] = timed('vae_encoder', lambda: R.vae_encode(ref, vae, image, SCALE))
R.write_safetensors(os.path.join(OUT, 'reference.safetensors'), {k: v.contiguous() for k, v in out.items()},
                    {k: f'{v:.2f}' for k, v in seconds.items()})
print('torch seconds:', ', '.join(f'{k} {v:.1f}' for k, v in seconds.items()))
