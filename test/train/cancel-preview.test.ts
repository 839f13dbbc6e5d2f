// Cancel while the trainer samples its preview (issue 13, item 5): the last finished step is kept in the
// training checkpoint even when checkpointEvery is far off, and the next run resumes from it.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import { readSafetensors } from '../../models/safetensors.ts';
import { builtinNodes } from '../../nodes/index.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { toImage } from '../../runtime/image-io.ts';
import { defineNode } from '../../runtime/node.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

const data = tempData();
afterAll(() => rmSync(data.root, { recursive: true, force: true }));

// A training set written ahead, so the graph is only checkpoint + training.
const fixedSet = defineNode({
  type: 'test/dataset',
  version: 1,
  category: 'test',
  title: 'Dataset',
  description: 'Two coloured squares with one caption',
  inputs: {},
  outputs: { dataset: { type: 'DATASET' } },
  params: z.object({}),
  async run(ctx) {
    const images = await Promise.all(['#c44', '#44c'].map((c) => toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: c } }))));
    const dataset = await writeDataset(ctx.cacheDir(), images.map((image, i) => ({ image, photo: `p${i}.png`, text: '<sks>, a handsome man' })), { token: '<sks>', subject: 'a handsome man' });
    return { dataset };
  },
});

const doc = graph(
  [
    { id: 'set', type: 'test/dataset' },
    { id: 'checkpoint', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } },
    { id: 'train', type: 'train/lora', params: { steps: 300, previewEvery: 25, checkpointEvery: 1000, previewSteps: 2, resolution: 64, batch: 1 } },
  ],
  [
    ['set', 'dataset', 'train', 'dataset'],
    ['checkpoint', 'model', 'train', 'model'],
  ],
);

describe('cancel during a training preview', { timeout: 180_000 }, () => {
  it('keeps the last finished step, and the next run resumes from it', async () => {
    const ex = new Executor({ registry: new NodeRegistry([...builtinNodes, fixedSet]), data, progressIntervalMs: 0 });
    const stop = new AbortController();
    // Step 25's progress event comes just before its preview is sampled: cancel then, so the cancel
    // lands in the preview.
    const cancelled = await ex.run(doc, {
      signal: stop.signal,
      onEvent: (e: RunEvent) => {
        if (e.type === 'node.progress' && e.nodeId === 'train' && e.message?.startsWith('step 25/300')) stop.abort();
      },
    });
    expect(cancelled.status).toBe('cancelled');

    const dirs = readdirSync(path.join(data.cache, 'training'));
    expect(dirs).toHaveLength(1);
    const { metadata } = await readSafetensors(path.join(data.cache, 'training', dirs[0]!, 'state.safetensors'));
    expect(metadata['facechain.step']).toBe('25');

    const logs: string[] = [];
    const resumed = await ex.run(doc, { onEvent: (e: RunEvent) => void (e.type === 'log' && logs.push(e.message)) });
    expect(resumed.status).toBe('finished');
    expect(logs).toContain('Resumed from the checkpoint at step 25');
    expect(logs.some((m) => m.startsWith('300 steps (275 this run)'))).toBe(true);
  });
});
