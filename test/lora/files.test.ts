import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { Executor } from '../../runtime/executor.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';
import { loraTensors, randomLora } from './random-lora.ts';

const modulesOf = (l: Lora) => l.modules.map((m) => ({ name: m.name, alpha: m.alpha, down: [...m.down.data], up: [...m.up.data] }));

describe('LoRA files through the nodes', () => {
  it('load (PEFT naming) -> save as kohya -> load again gives identical tensors', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'loras');
    mkdirSync(dir, { recursive: true });
    const lora = randomLora(tiny, { seed: 3, rank: 4, alpha: 2 });
    await writeSafetensors(path.join(dir, 'peft.safetensors'), loraTensors(lora, 'peft', tiny), {
      lora_adapter_metadata: JSON.stringify({ unet: { r: 4, lora_alpha: 2 }, text_encoder: { r: 4, lora_alpha: 2 } }),
    });
    const ex = new Executor({ registry: testRegistry(), data });
    const first = await ex.run(
      graph(
        [{ id: 'load', type: 'lora/load', params: { file: 'peft.safetensors' } }, { id: 'save', type: 'lora/save', params: { name: 'kohya-copy' } }],
        [['load', 'lora', 'save', 'lora']],
      ),
    );
    expect(first.failures).toEqual([]);
    expect(first.outputs.get('save')).toEqual({ file: 'kohya-copy.safetensors' });
    expect(first.outputs.get('load')!.info).toMatch(/tiny/);
    const again = await ex.run(graph([{ id: 'load2', type: 'lora/load', params: { file: 'kohya-copy.safetensors' } }]));
    const a = first.outputs.get('load')!.lora as Lora;
    const b = again.outputs.get('load2')!.lora as Lora;
    expect(b.format).toBe('kohya');
    expect(b.modules.length).toBe(lora.length);
    expect(modulesOf(b)).toEqual(modulesOf(a));
  });

  it('a LoRA for another base model, a missing file and a path escape are clear errors', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'loras');
    mkdirSync(dir, { recursive: true });
    const f = (dims: number[]) => ({ dtype: 'float32' as const, dims, data: new Float32Array(dims[0]! * dims[1]!) });
    await writeSafetensors(path.join(dir, 'xl.safetensors'), {
      'lora_unet_down_blocks_1_attentions_0_transformer_blocks_5_attn1_to_q.lora_down.weight': f([4, 640]),
      'lora_unet_down_blocks_1_attentions_0_transformer_blocks_5_attn1_to_q.lora_up.weight': f([640, 4]),
    });
    const ex = new Executor({ registry: testRegistry(), data });
    const wrong = await ex.run(graph([{ id: 'l', type: 'lora/load', params: { file: 'xl.safetensors' } }]));
    expect(wrong.failures[0]!.message).toMatch(/LoRA "xl.safetensors" does not fit/);
    const missing = await ex.run(graph([{ id: 'l', type: 'lora/load', params: { file: 'none.safetensors' } }]));
    expect(missing.failures[0]!.message).toMatch(/"none.safetensors" does not exist/);
    const escape = await ex.run(graph([{ id: 'l', type: 'lora/load', params: { file: '../../x.safetensors' } }]));
    expect(escape.failures[0]!.message).toMatch(/leaves its folder/);
  });
});
