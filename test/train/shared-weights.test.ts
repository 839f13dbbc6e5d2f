// The training graphs read the frozen UNet weights where the sampler's sessions read them: every
// initializer of the training step (one graph, and each recompute segment's forward and gradient graph)
// is external data pointing at the same bytes of the checkpoint file, none embedded or copied.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGradientGraph, SegmentedGradients, type ValueInfos } from '../../models/onnx/grad/index.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { decodeModel, externalLocation, type HostTensor, type ModelProto } from '../../models/onnx/index.ts';
import { readSafetensorsHeader, writeSafetensors } from '../../models/safetensors.ts';
import { tiny } from '../../models/sd/config.ts';
import { loadCheckpointFile } from '../../models/sd/load-model.ts';
import { loraFeeds } from '../../models/sd/lora-feeds.ts';
import { loraInputNames } from '../../models/sd/lora-targets.ts';
import { externalDataOptions } from '../../models/sd/part-session.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { selectTargets } from '../../models/train/lora-params.ts';
import { unetBlock, unetSegment, unetTrainingPart } from '../../models/train/step-graphs.ts';
import { tempDir } from '../helpers/temp.ts';

let model: SdModel;
let file: string;
/** Checkpoint key -> its byte range in the file. */
let ranges: Map<string, { begin: number; end: number }>;

beforeAll(async () => {
  const dir = tempDir('shared-weights');
  file = path.join(dir, 'tiny.safetensors');
  await writeSafetensors(file, randomWeights(tiny, 1));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  model = await loadCheckpointFile(file, dir, 'tiny', tiny);
  ranges = new Map([...(await readSafetensorsHeader(file)).entries].map(([k, e]) => [k, e]));
});

afterAll(async () => {
  await model?.release();
});

/**
 * Each checkpoint weight among `m`'s initializers as (file, byte range), failing on one that is not
 * external data; the graph's own constants (shapes, axes, scalars) must stay small.
 */
function weightRefs(m: ModelProto): Map<string, string> {
  const refs = new Map<string, string>();
  let embedded = 0;
  for (const t of m.graph?.initializer ?? []) {
    const loc = externalLocation(t);
    if (ranges.has(t.name!)) {
      expect(loc, `${t.name} is embedded, not read from the checkpoint`).toBeDefined();
      refs.set(t.name!, `${loc!.file}@${loc!.offset}+${loc!.length}`);
    } else {
      embedded += t.rawData?.length ?? 0;
    }
  }
  expect(embedded, `${m.graph?.name}: embedded constants`).toBeLessThan(64 * 1024);
  return refs;
}

describe('frozen weights of the training step', { timeout: 300_000 }, () => {
  it('are the checkpoint bytes the sampler reads, in the one-graph and the recomputed step', async () => {
    const unet = model.graph('unet');
    const sampler = weightRefs(decodeModel('bytes' in unet ? unet.bytes : readFileSync(unet.path)));
    for (const [key, ref] of sampler) {
      const r = ranges.get(key)!;
      expect(ref, key).toBe(`tiny.safetensors@${r.begin}+${r.end - r.begin}`);
    }

    const part = unetTrainingPart(model, 1);
    const forward = part.builder.toModel();
    const trained = selectTargets(part.loraTargets, 'attention');
    const rank = 2;
    const feeds: Record<string, HostTensor> = {
      sample: { dtype: 'float32', dims: [1, 4, 8, 8], data: new Float32Array(256) },
      timestep: { dtype: 'float32', dims: [1], data: Float32Array.of(1) },
      context: { dtype: 'float32', dims: [1, 77, tiny.unet.contextDim], data: new Float32Array(77 * tiny.unet.contextDim) },
      target: { dtype: 'float32', dims: [1, 4, 8, 8], data: new Float32Array(256) },
      ...loraFeeds(part.loraTargets, new Map(trained.map((t) => [t.name, { rank, a: new Float32Array(t.in * rank), b: new Float32Array(rank * t.out) }]))),
    };
    const infos: ValueInfos = await probeShapes(forward, feeds, externalDataOptions(model.weightsDir), unetBlock);
    const trainable = trained.flatMap((t) => Object.values(loraInputNames(t)));

    const graphs: ModelProto[] = [buildGradientGraph(forward, { loss: 'loss', trainable, infos })];
    const segmented = await SegmentedGradients.create(forward, {
      loss: 'loss', trainable, infos, segmentOf: unetSegment,
      createSession: async (m) => {
        graphs.push(m);
        return { run: async () => ({}), release: async () => {} };
      },
    });
    expect(segmented.size).toBeGreaterThan(20);
    // The one graph, and each segment's forward and (where it has trainable inputs) gradient graph.
    expect(graphs.length).toBeGreaterThan(1 + segmented.size);
    const used = new Set<string>();
    for (const g of graphs) {
      for (const [key, ref] of weightRefs(g)) {
        // Same file, offset and length as the sampler's graph: the same bytes, mapped once by the OS.
        expect(ref, key).toBe(sampler.get(key));
        used.add(key);
      }
    }
    // Every UNet weight is read by the training graphs (none replaced by an embedded copy).
    expect([...sampler.keys()].filter((k) => !used.has(k))).toEqual([]);
    console.log(`${used.size} UNet weights, ${graphs.length} training graphs: every initializer is external data into ${path.basename(file)}`);
  });
});
