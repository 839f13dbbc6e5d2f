// face/rank on real photos: three altered crops of one woman (sample1's left face: flipped,
// re-cropped off-centre and smaller, turned 8 degrees) among crops of three other women, a photo
// without a face, a group photo, a face too small and one too large in its frame. The template is her plain crop.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import type { Image } from '../../runtime/values.ts';
import { demoPhoto, sharpOf, testFaceModels } from '../fixtures/faces/photos.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';
import { singleFace } from '../preprocess/photos.ts';

const data = tempData();
const ex = new Executor({ registry: testRegistry(), data, services: { faceModels: testFaceModels() } });
const SAME = ['her-flipped.png', 'her-recropped.png', 'her-turned.png'];
const OTHERS = ['other-1-1.png', 'other-2-0.png', 'other-3-0.png', 'other-5-4.png'];

beforeAll(async () => {
  const dir = path.join(data.input, 'results');
  mkdirSync(dir, { recursive: true });
  const her = await singleFace(1, 0);
  await her.clone().png().toFile(path.join(data.input, 'template.png'));
  const { width, height } = await her.metadata();
  await her.clone().flop().png().toFile(path.join(dir, 'her-flipped.png'));
  const crop = { left: Math.round(width * 0.1), top: Math.round(height * 0.05), width: Math.round(width * 0.85), height: Math.round(height * 0.8) };
  await sharp(await her.clone().extract(crop).png().toBuffer()).resize(Math.round(crop.width * 0.7)).png().toFile(path.join(dir, 'her-recropped.png'));
  await her.clone().rotate(8, { background: '#ffffff' }).png().toFile(path.join(dir, 'her-turned.png'));
  for (const [s, f] of [[1, 1], [2, 0], [3, 0], [5, 4]]) await (await singleFace(s!, f!)).png().toFile(path.join(dir, `other-${s}-${f}.png`));
  // Real pixels without a face: the bottom of a crop (hands, glass, jacket).
  const b = await singleFace(3, 0);
  const bm = await b.metadata();
  await b.extract({ left: 0, top: bm.height - 300, width: bm.width, height: 300 }).png().toFile(path.join(dir, 'no-face.png'));
  await sharpOf(await demoPhoto(3)).resize(960).jpeg().toFile(path.join(dir, 'group.jpg'));
  // Her face fills 0.77 of this crop's width: too large by FaceChain's rule.
  await (await singleFace(6, 1)).png().toFile(path.join(dir, 'tight.png'));
  const small = await (await singleFace(6, 0)).png().toBuffer();
  await sharp({ create: { width: 2400, height: 2400, channels: 3, background: '#ffffff' } }).composite([{ input: small, left: 900, top: 800 }]).png().toFile(path.join(dir, 'small-face.png'));
});

async function rank(params: Record<string, unknown>, withTemplate = true, results = 'results') {
  const events: RunEvent[] = [];
  const nodes = [
    { id: 'results', type: 'image/load-images', params: { path: results } },
    { id: 'rank', type: 'face/rank', params },
    ...(withTemplate ? [{ id: 'template', type: 'image/load-images', params: { path: 'template.png' } }] : []),
  ];
  const edges: [string, string, string, string][] = [['results', 'images', 'rank', 'images']];
  if (withTemplate) edges.push(['template', 'image', 'rank', 'template']);
  const r = await ex.run(graph(nodes, edges), { onEvent: (e) => events.push(e) });
  const out = r.outputs.get('rank');
  return {
    r,
    warnings: events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : [])),
    previews: events.filter((e) => e.type === 'node.preview' && e.nodeId === 'rank').length,
    names: (out?.images as Image[] | undefined)?.map((i) => i.name),
    scores: out?.scores as number[] | undefined,
  };
}

describe('face/rank', () => {
  it("ranks her crops above everyone else's and reports why the others were dropped", async () => {
    const { r, warnings, previews, names, scores } = await rank({ topK: 20 });
    expect(r.failures).toEqual([]);
    expect(names).toHaveLength(7);
    expect([...names!.slice(0, 3)].sort()).toEqual(SAME);
    expect([...names!.slice(3)].sort()).toEqual(OTHERS);
    expect(scores).toEqual([...scores!].sort((a, b) => b - a));
    // Measured: hers 0.871-0.923, the best other 0.546.
    expect(scores![2]! - scores![3]!).toBeGreaterThan(0.2);
    expect(warnings.sort()).toEqual([
      expect.stringMatching(/^group\.jpg: dropped, 3 faces \(needs exactly one\)$/),
      'no-face.png: dropped, no face found',
      expect.stringMatching(/^small-face\.png: dropped, face too small \(0\.\d\d of the image's shorter side, needs 0\.23-0\.59\)$/),
      expect.stringMatching(/^tight\.png: dropped, face too large \(0\.\d\d of the image's shorter side, needs 0\.23-0\.59\)$/),
    ]);
    expect(previews).toBe(7);
  });

  it('keeps the top K; without a template the mean of the results alone still puts her first', async () => {
    const top = await rank({ topK: 3 });
    expect(top.names!.sort()).toEqual(SAME);
    expect(top.scores).toHaveLength(3);
    const meanOnly = await rank({ topK: 20 }, false);
    expect(meanOnly.r.failures).toEqual([]);
    expect([...meanOnly.names!.slice(0, 3)].sort()).toEqual(SAME);
    // Measured: hers 0.839-0.847, the best other 0.685 (the mean holds her three and four others).
    expect(meanOnly.scores![2]! - meanOnly.scores![3]!).toBeGreaterThan(0.08);
  });

  it('fails with every reason when nothing is left, and names a bad size range', async () => {
    const none = await rank({}, true, 'results/no-face.png');
    expect(none.r.failures).toEqual([expect.objectContaining({ node: 'rank', message: 'No result left to rank: all 1 were dropped:\nno-face.png: no face found' })]);
    // keepDropped: the faceless result comes back unranked with score 0 instead of failing the run.
    const kept = await rank({ keepDropped: true }, true, 'results/no-face.png');
    expect(kept.r.failures).toEqual([]);
    expect(kept.names).toEqual(['no-face.png']);
    expect(kept.scores).toEqual([0]);
    const bad = await rank({ minFaceSize: 0.6, maxFaceSize: 0.3 });
    expect(bad.r.status).toBe('failed');
    expect(bad.r.problems).toEqual([expect.objectContaining({ node: 'rank', field: 'params.maxFaceSize', message: 'maxFaceSize must be at least minFaceSize' })]);
  });
});
