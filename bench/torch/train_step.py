# The PyTorch side of bench/train-step.ts: the tiny SD UNet of models/sd/unet.ts (same config, same
# weights, LoRA on the same targets) trained one step at a time with torch.optim.AdamW, timed, as JSON.
# Usage: train_step.py WEIGHTS.safetensors INPUTS.safetensors THREADS WARMUP STEPS
import json
import math
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

UNET = 'model.diffusion_model.'


DTYPES = {'F32': torch.float32, 'F16': torch.float16}


def read_safetensors(path, prefix=''):
    """The tensors whose names start with `prefix` (as float32; F16 is widened) and the metadata of a
    .safetensors file, reading only those tensors' bytes."""
    with open(path, 'rb') as f:
        (size,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(size))
        meta = header.pop('__metadata__', {})
        base = 8 + size
        tensors = {}
        for name, info in header.items():
            if not name.startswith(prefix):
                continue
            if info['dtype'] not in DTYPES:
                raise ValueError(f'{name}: only F32 and F16 tensors are read, not {info["dtype"]}')
            begin, end = info['data_offsets']
            f.seek(base + begin)
            data = bytearray(f.read(end - begin))
            tensors[name] = torch.frombuffer(data, dtype=DTYPES[info['dtype']]).reshape(info['shape']).float() if data else torch.zeros(info['shape'])
    return tensors, meta


class Unet:
    """models/sd/unet.ts in torch ops: every layer reads its weight by checkpoint key, as the graph does."""

    def __init__(self, weights, cfg, lora, scale):
        self.w = weights
        self.cfg = cfg
        self.lora = lora  # module key -> (A [in, r], B [r, out])
        self.scale = scale

    def linear(self, x, key, bias=True):
        w = self.w[key + '.weight']
        w = w.reshape(w.shape[0], w.shape[1])  # proj_in/proj_out are stored as 1x1 convs
        y = F.linear(x, w, self.w[key + '.bias'] if bias else None)
        branch = self.lora.get(key)
        if branch is not None:
            a, b = branch
            y = y + (x @ a) @ b * self.scale
        return y

    def conv(self, x, key, stride=1):
        w = self.w[key + '.weight']
        return F.conv2d(x, w, self.w[key + '.bias'], stride=stride, padding=(w.shape[-1] - 1) // 2)

    def group_norm(self, x, key, eps):
        return F.group_norm(x, self.cfg['groups'], self.w[key + '.weight'], self.w[key + '.bias'], eps)

    def layer_norm(self, x, key):
        return F.layer_norm(x, x.shape[-1:], self.w[key + '.weight'], self.w[key + '.bias'], 1e-5)

    def res_block(self, x, emb_act, key):
        h = self.conv(F.silu(self.group_norm(x, key + '.in_layers.0', 1e-5)), key + '.in_layers.2')
        h = h + self.linear(emb_act, key + '.emb_layers.1')[:, :, None, None]
        h = self.conv(F.silu(self.group_norm(h, key + '.out_layers.0', 1e-5)), key + '.out_layers.3')
        skip = self.conv(x, key + '.skip_connection') if key + '.skip_connection.weight' in self.w else x
        return skip + h

    def attention(self, x, context, key):
        heads = self.cfg['heads']
        kv = x if context is None else context
        q = self.linear(x, key + '.to_q', bias=False)
        k = self.linear(kv, key + '.to_k', bias=False)
        v = self.linear(kv, key + '.to_v', bias=False)
        bsz, _, width = q.shape
        d = width // heads
        split = lambda t: t.reshape(bsz, -1, heads, d).transpose(1, 2)
        scores = (split(q) @ split(k).transpose(-1, -2)) * (1 / math.sqrt(d))
        out = (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(bsz, -1, width)
        return self.linear(out, key + '.to_out.0')

    def spatial_transformer(self, x, context, key):
        bsz, ch, hh, ww = x.shape
        normed = self.group_norm(x, key + '.norm', 1e-6)
        h = self.linear(normed.reshape(bsz, ch, -1).transpose(1, 2), key + '.proj_in')
        for d in range(self.cfg['transformerDepth']):
            blk = f'{key}.transformer_blocks.{d}'
            h = h + self.attention(self.layer_norm(h, blk + '.norm1'), None, blk + '.attn1')
            h = h + self.attention(self.layer_norm(h, blk + '.norm2'), context, blk + '.attn2')
            value, gate = self.linear(self.layer_norm(h, blk + '.norm3'), blk + '.ff.net.0.proj').chunk(2, -1)
            h = h + self.linear(value * F.gelu(gate), blk + '.ff.net.2')
        h = self.linear(h, key + '.proj_out')
        return h.transpose(1, 2).reshape(bsz, ch, hh, ww) + x

    def __call__(self, x, t, context):
        cfg = self.cfg
        base = cfg['channels'][0]
        half = base // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None] * freqs[None]
        emb = self.linear(torch.cat([args.cos(), args.sin()], 1), UNET + 'time_embed.0')
        emb = self.linear(F.silu(emb), UNET + 'time_embed.2')
        emb_act = F.silu(emb)

        h = self.conv(x, UNET + 'input_blocks.0.0')
        skips = [h]
        n = 1
        levels = len(cfg['channels'])
        for level in range(levels):
            for _ in range(cfg['resBlocks']):
                key = f'{UNET}input_blocks.{n}'
                h = self.res_block(h, emb_act, key + '.0')
                if cfg['attention'][level]:
                    h = self.spatial_transformer(h, context, key + '.1')
                skips.append(h)
                n += 1
            if level < levels - 1:
                h = self.conv(h, f'{UNET}input_blocks.{n}.0.op', stride=2)
                skips.append(h)
                n += 1

        h = self.res_block(h, emb_act, UNET + 'middle_block.0')
        h = self.spatial_transformer(h, context, UNET + 'middle_block.1')
        h = self.res_block(h, emb_act, UNET + 'middle_block.2')

        n = 0
        for level in reversed(range(levels)):
            for r in range(cfg['resBlocks'] + 1):
                key = f'{UNET}output_blocks.{n}'
                h = self.res_block(torch.cat([h, skips.pop()], 1), emb_act, key + '.0')
                sub = 1
                if cfg['attention'][level]:
                    h = self.spatial_transformer(h, context, f'{key}.{sub}')
                    sub += 1
                if level > 0 and r == cfg['resBlocks']:
                    h = self.conv(F.interpolate(h, scale_factor=2, mode='nearest'), f'{key}.{sub}.conv')
                n += 1
        h = F.silu(self.group_norm(h, UNET + 'out.0', 1e-5))
        return self.conv(h, UNET + 'out.2')


def blas_library():
    """The BLAS shared library this process mapped (Debian's reference libblas is far slower than OpenBLAS)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line.split()[-1]}
    return ', '.join(sorted(libs)) or 'none mapped'


def main():
    weights_file, inputs_file, threads, warmup, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    weights, _ = read_safetensors(weights_file)
    inputs, meta = read_safetensors(inputs_file)
    cfg = json.loads(meta['config'])
    targets = json.loads(meta['targets'])
    lr = float(meta['lr'])
    lora = {}
    params = []
    for t in targets:
        a = inputs[t['name'] + '.A'].clone().requires_grad_(True)
        b = inputs[t['name'] + '.B'].clone().requires_grad_(True)
        lora[t['module']] = (a, b)
        params += [a, b]
    model = Unet(weights, cfg, lora, float(meta['scale']))
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=float(meta['weightDecay']))
    sample, timestep, context, target = inputs['sample'], inputs['timestep'], inputs['context'], inputs['target']

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(sample, timestep, context), target)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, float(meta['maxGradNorm']))
        opt.step()
        return loss.item(), float(norm)

    first_loss, first_norm = step()
    for _ in range(warmup - 1):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        'side': 'torch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(),
        'firstLoss': first_loss, 'firstGradNorm': first_norm, 'ms': times,
        'rssLoadedKb': rss_loaded, 'peakRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
