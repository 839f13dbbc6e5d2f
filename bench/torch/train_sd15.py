# The PyTorch side of bench/train-sd15.ts: one LoRA training step (forward, MSE on the noise, backward;
# no optimiser, as on our side) of the SD1.5-size UNet in fp32, on the same random fp16 checkpoint
# (widened to float32) and the same inputs and LoRA as ours, optionally with torch.utils.checkpoint per
# res block and per transformer (the granularity of our recompute segments). Prints JSON with the
# fields of bench/train-sd15.ts's StepResult.
# Usage: train_sd15.py CHECKPOINT.safetensors INPUTS.safetensors THREADS CHECKPOINTING(0|1) STEPS
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import UNET, Unet, blas_library, read_safetensors  # noqa: E402


class CheckpointedUnet(Unet):
    """Keeps only each block's input; its activations are recomputed in the backward pass."""

    def res_block(self, x, emb_act, key):
        return checkpoint(super().res_block, x, emb_act, key, use_reentrant=False)

    def spatial_transformer(self, x, context, key):
        return checkpoint(super().spatial_transformer, x, context, key, use_reentrant=False)


def memory_kb(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def main():
    weights_file, inputs_file, threads, checkpointing, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1', int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    weights, _ = read_safetensors(weights_file, UNET)
    inputs, meta = read_safetensors(inputs_file)
    cfg = json.loads(meta['config'])
    lora, params = {}, []
    for t in json.loads(meta['targets']):
        a = inputs[t['name'] + '.A'].requires_grad_(True)
        b = inputs[t['name'] + '.B'].requires_grad_(True)
        lora[t['module']] = (a, b)
        params += [a, b]
    model = (CheckpointedUnet if checkpointing else Unet)(weights, cfg, lora, float(meta['scale']))
    sample, timestep, context, target = inputs['sample'], inputs['timestep'], inputs['context'], inputs['target']
    loaded_mb, load_peak_mb = memory_kb('VmRSS') / 1024, memory_kb('VmHWM') / 1024
    # Reset the peak (Linux), so the steps' own peak is reported apart from loading the weights.
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    times, loss = [], None
    for _ in range(steps):
        t0 = time.perf_counter()
        for p in params:
            p.grad = None
        loss = F.mse_loss(model(sample, timestep, context), target)
        loss.backward()
        times.append(time.perf_counter() - t0)
    grad_norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params)).item()
    print(json.dumps({
        'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(),
        'loss': loss.item(), 'gradNorm': grad_norm, 'stepS': times[-1], 'firstStepS': times[0],
        'loadedRssMb': loaded_mb, 'loadPeakMb': load_peak_mb, 'peakRssMb': memory_kb('VmHWM') / 1024,
    }))


if __name__ == '__main__':
    main()
