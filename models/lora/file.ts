// LoRA files on disk: any supported naming in, kohya naming out.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../safetensors.ts';
import type { SdConfig } from '../sd/config.ts';
import { fitLora } from './fit.ts';
import { kohyaTensors } from './kohya.ts';
import { LoraFileError, parseLoraTensors } from './parse.ts';
import { peftConfigs } from './peft-config.ts';
import type { Lora } from './schema.ts';

/**
 * Reads a LoRA .safetensors and fits it onto an SD architecture (the first of `configs` it fits; default
 * sd15, tiny); a PEFT `adapter_config.json` beside the file supplies alpha. Errors name the file.
 */
export async function loadLoraFile(
  file: string, name = path.basename(file), configs?: readonly SdConfig[],
): Promise<{ lora: Lora; warnings: string[] }> {
  if (!file.endsWith('.safetensors')) throw new LoraFileError(`LoRA "${name}": only .safetensors files are read (pickled .pt/.ckpt files can run code)`);
  if (!existsSync(file)) throw new LoraFileError(`LoRA "${name}" does not exist`);
  const { tensors, metadata } = await readSafetensors(file);
  const configFile = path.join(path.dirname(file), 'adapter_config.json');
  let adapterConfig: unknown;
  if (existsSync(configFile)) {
    try {
      adapterConfig = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (e) {
      throw new LoraFileError(`LoRA "${name}": adapter_config.json beside it is not JSON (${(e as Error).message})`);
    }
  }
  const raw = parseLoraTensors(tensors, name, peftConfigs(metadata, adapterConfig));
  return { lora: fitLora(raw, { name, source: file, metadata }, configs), warnings: raw.warnings };
}

/** Writes a LoRA in kohya naming with kohya's metadata, readable by other tools. */
export async function saveLoraFile(file: string, lora: Lora): Promise<void> {
  const { tensors, metadata } = kohyaTensors(lora);
  await writeSafetensors(file, tensors, metadata);
}
