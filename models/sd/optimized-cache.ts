// Speed mode's optimised graphs in the converted-model cache. Creating SD1.5's UNet with its weights
// folded to float32 at ORT's level 'all' takes about 50 s, nearly all of it ORT's optimisers; ORT saves
// the graph it ends with (`optimizedModelFilePath`, weights in a file beside it), and a later session
// loads that at level 'disabled'. The NCHWc layouts of level 'all' depend on the CPU's vector width,
// so the key holds the CPU's SIMD flags and ORT's version besides the graph and its weights' hashes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { hashIndex } from '../store/hash.ts';
import { ort } from '../session/ort.ts';

/** Where a model's optimised graphs are kept: the models folder and the weight files its graphs read. */
export interface OptimizedStore {
  modelsDir: string;
  weightFiles: readonly string[];
}

/** The CPU features ORT's layout choices depend on: architecture and SIMD flags (else the CPU's model). */
export function cpuFeatures(): string[] {
  let flags: string[] = [];
  try {
    const line = /^(?:flags|Features)\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    flags = (line?.[1] ?? '').trim().split(/\s+/).filter((f) => /^(avx|fma|f16c|amx|sse4|asimd|sve|neon)/.test(f)).sort();
  } catch {
    // No /proc (macOS, Windows): the model name stands in for the flags.
  }
  return [os.arch(), ...(flags.length ? flags : [os.cpus()[0]?.model ?? 'unknown'])];
}

/** The cache key of a part's optimised graph: the graph as given to ORT, its weights' content, ORT and the CPU. */
export async function optimizedKey(store: OptimizedStore, part: string, graph: Uint8Array): Promise<string> {
  const hash = createHash('sha256').update(graph);
  for (const file of store.weightFiles) hash.update(await hashIndex(store.modelsDir).sha256(file));
  return convertedKey(hash.digest('hex'), { optimized: part, level: 'all', ort: ort.env.versions.node ?? ort.env.versions.common, cpu: cpuFeatures() });
}

/**
 * A session from the part's cached optimised graph: `create(saveTo)` makes it from the source the
 * first time and has ORT save the optimised graph to `saveTo`; from then on `load(file)` reads that.
 */
export async function cachedOptimized<S>(
  store: OptimizedStore, part: string, graph: Uint8Array, create: (saveTo: string) => Promise<S>, load: (file: string) => Promise<S>,
): Promise<S> {
  let made: S | undefined;
  const dir = await ensureConverted(store.modelsDir, await optimizedKey(store, part, graph), async (d) => {
    made = await create(path.join(d, `${part}.onnx`));
  });
  return made ?? load(path.join(dir, `${part}.onnx`));
}
