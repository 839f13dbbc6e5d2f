// The four SD graphs of a checkpoint, built once and kept in the model store under converted/<key>/.
// The graphs hold no weights (their initializers point into the checkpoint), so a cached folder is
// about 1.5 MB for sd15. The key hashes what a graph is made of: every tensor's location, dtype and
// shape in the checkpoint (CheckpointIndex), the config and GRAPH_BUILDER_VERSION. Weights changed in
// place with the same layout keep their graphs (the sessions read the new bytes); a new layout, a
// renamed file, another config or a new builder version get a new folder.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { buildPart, GRAPH_BUILDER_VERSION, SD_PARTS, type SdPart } from './build.ts';
import type { SdConfig } from './config.ts';
import { ExternalWeights, type CheckpointIndex } from './external-weights.ts';
import type { LoraTarget } from './lora-targets.ts';

const LoraTargetSchema = z.object({ name: z.string(), module: z.string(), in: z.number(), out: z.number(), kind: z.enum(['linear', 'conv1x1']) });
const ManifestSchema = z.object({
  builder: z.literal(GRAPH_BUILDER_VERSION),
  config: z.string(),
  loraTargets: z.object({ text: z.array(LoraTargetSchema), unet: z.array(LoraTargetSchema) }),
});
const MANIFEST = 'graphs.json';

export interface CachedGraphs {
  /** `<part>.onnx` for each part. */
  files: Record<SdPart, string>;
  loraTargets: { text: LoraTarget[]; unet: LoraTarget[] };
}

/** The cache key of a checkpoint's graphs. */
export function graphKey(config: SdConfig, index: CheckpointIndex): string {
  const layout = createHash('sha256').update(JSON.stringify([...index])).digest('hex');
  return convertedKey(layout, { sd: config, builder: GRAPH_BUILDER_VERSION });
}

/**
 * The graphs of a checkpoint from the cache, built and stored first when missing. Building checks the
 * checkpoint: every tensor the config needs with its shape, and no weight left over.
 */
export async function cachedGraphs(modelsDir: string, config: SdConfig, index: CheckpointIndex): Promise<CachedGraphs> {
  const dir = await ensureConverted(modelsDir, graphKey(config, index), (d) => buildGraphs(d, config, index));
  const manifest = ManifestSchema.parse(JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')));
  const files = Object.fromEntries(SD_PARTS.map((part) => [part, path.join(dir, `${part}.onnx`)])) as Record<SdPart, string>;
  return { files, loraTargets: manifest.loraTargets };
}

async function buildGraphs(dir: string, config: SdConfig, index: CheckpointIndex): Promise<void> {
  const weights = new ExternalWeights(index);
  const built = SD_PARTS.map((part) => {
    try {
      return [part, buildPart(config, part, weights)] as const;
    } catch (e) {
      throw new Error(`does not fit ${config.name}: ${(e as Error).message}`);
    }
  });
  const unused = weights.unused();
  if (unused.length) throw new Error(`has ${unused.length} tensors ${config.name} does not use (e.g. ${unused.slice(0, 3).join(', ')}): not an SD1.5 checkpoint?`);
  for (const [part, { builder }] of built) await writeFile(path.join(dir, `${part}.onnx`), builder.toBytes());
  const targets = Object.fromEntries(built.map(([part, b]) => [part, b.loraTargets]));
  const manifest: z.infer<typeof ManifestSchema> = { builder: GRAPH_BUILDER_VERSION, config: config.name, loraTargets: { text: targets.text!, unet: targets.unet! } };
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest));
}
