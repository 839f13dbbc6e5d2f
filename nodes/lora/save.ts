import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { saveLoraFile } from '../../models/lora/file.ts';
import { defineNode } from '../../runtime/node.ts';
import { filePrefixParam } from '../../runtime/params.ts';

export default defineNode({
  type: 'lora/save',
  version: 1,
  category: 'lora',
  title: 'Save LoRA',
  description: 'Writes a LoRA into data/models/loras as <name>.safetensors in kohya naming with its metadata, usable by other tools and by Load LoRA.',
  inputs: { lora: { type: 'LORA' } },
  outputs: { file: { type: 'STRING', description: 'The file name inside data/models/loras' } },
  params: z.object({ name: filePrefixParam('face-lora') }),
  cacheable: false,
  async run(ctx, { lora }, p) {
    const dir = path.join(ctx.data.models, 'loras');
    mkdirSync(dir, { recursive: true });
    const file = `${p.name}.safetensors`;
    await saveLoraFile(path.join(dir, file), lora);
    ctx.log.info(`Saved ${file} (${lora.modules.length} modules)`);
    return { file };
  },
});
