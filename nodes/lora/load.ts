import { z } from 'zod';
import { describeLora } from '../../models/lora/info.ts';
import { loadLoraFile } from '../../models/lora/file.ts';
import { safeJoin } from '../../runtime/data-folder.ts';
import { defineNode } from '../../runtime/node.ts';
import { modelParam } from '../../runtime/params.ts';
import { statSync } from 'node:fs';
import path from 'node:path';

const lorasDir = (models: string) => path.join(models, 'loras');

export default defineNode({
  type: 'lora/load',
  version: 1,
  category: 'lora',
  title: 'Load LoRA',
  description:
    'Reads a LoRA .safetensors from data/models/loras: kohya (lora_unet_*/lora_te_*), diffusers or PEFT naming, ' +
    'with alpha from the file, its metadata or an adapter_config.json beside it. A LoRA made for another base ' +
    'model (SDXL, SD 2.x) is an error naming the file. Outputs the LoRA and a summary (format, base, rank, metadata).',
  inputs: {},
  outputs: { lora: { type: 'LORA' }, info: { type: 'STRING' } },
  params: z.object({ file: modelParam('loras', '', 'A .safetensors file in data/models/loras') }),
  fingerprint: (p, data) => {
    const file = safeJoin(lorasDir(data.models), p.file || '.');
    try {
      const s = statSync(file);
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  },
  async run(ctx, _inputs, p) {
    if (!p.file) throw new Error('params.file: choose a LoRA file from data/models/loras');
    const { lora, warnings } = await loadLoraFile(safeJoin(lorasDir(ctx.data.models), p.file), p.file);
    for (const w of warnings) ctx.log.warn(w);
    const info = describeLora(lora);
    ctx.log.info(info);
    return { lora, info };
  },
});
