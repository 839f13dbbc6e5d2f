import { rankOf, type Lora } from './schema.ts';

// Metadata worth a line of their own; the rest is listed by key.
const HIGHLIGHTS = [
  'modelspec.title', 'modelspec.architecture', 'ss_output_name', 'ss_base_model_version', 'ss_sd_model_name',
  'ss_network_module', 'ss_network_dim', 'ss_network_alpha', 'ss_num_train_images', 'ss_epoch', 'ss_training_comment',
];

/** A few lines a user reads to know what a LoRA is: format, base, modules, ranks, scales, metadata. */
export function describeLora(lora: Lora): string {
  const count = (prefix: string) => lora.modules.filter((m) => m.name.startsWith(prefix)).length;
  const conv3 = lora.modules.filter((m) => m.down.dims.length === 4 && m.down.dims[2]! > 1).length;
  const distinct = (values: number[]) => [...new Set(values)].sort((a, b) => a - b).map((v) => +v.toPrecision(4)).join(', ');
  const lines = [
    `${lora.name}: ${lora.format} naming, for ${lora.base} (${lora.source})`,
    `modules: ${count('lora_unet')} UNet, ${count('lora_te')} text encoder${conv3 ? `, of which ${conv3} are 3x3 convolutions (applied when baked)` : ''}`,
    `rank ${distinct(lora.modules.map(rankOf))}; alpha ${distinct(lora.modules.map((m) => m.alpha))}; scale ${distinct(lora.modules.map((m) => m.alpha / rankOf(m)))}`,
  ];
  if (lora.ignoredKeys.length) lines.push(`ignored keys: ${lora.ignoredKeys.slice(0, 5).join(', ')}${lora.ignoredKeys.length > 5 ? ` (+${lora.ignoredKeys.length - 5})` : ''}`);
  const keys = Object.keys(lora.metadata);
  for (const k of HIGHLIGHTS) if (k in lora.metadata) lines.push(`${k}: ${clip(lora.metadata[k]!)}`);
  const others = keys.filter((k) => !HIGHLIGHTS.includes(k));
  if (others.length) lines.push(`other metadata: ${others.join(', ')}`);
  return lines.join('\n');
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
