// lora/adaptive-weights on the tiny model with a picture-keeping VAE (picture-vae.ts) and two random
// tiny LoRAs, img2img at low strength from a real demo-photo face crop, through the shipped graph:
// the executor (argmax, an independent re-sample of the best pair, plot, floor, no-face error) and the CLI.
// Measured (384 px, 10 DDIM steps, strength 0.15): a face is found for every pair, scores 0.34-0.35 that
// differ per pair in the third decimal.
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PLOT_HEIGHT, PLOT_WIDTH } from '../../models/adaptive/plot.ts';
import { isBetter, type ScoredPair } from '../../models/adaptive/search.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { describeResultFace, FACECHAIN_FACE_SIZE } from '../../models/post/rank.ts';
import { describeTemplate } from '../../models/post/template-face.ts';
import { dot } from '../../models/preprocess/quality.ts';
import { sample } from '../../models/sd/sample.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { toImage } from '../../runtime/image-io.ts';
import { faceModels, ROOT, run, sampling, shippedGraph, SIZE, userData } from './adaptive-graph.ts';
import { pictureTinyModel } from './picture-vae.ts';

/** The pairs in search order, from the node's log lines (the scores output carries no weights). */
function pairsFromLog(events: RunEvent[]): ScoredPair[] {
  return events.flatMap((e) => {
    const m = e.type === 'log' ? /^face (-?[\d.]+), style (-?[\d.]+): (?:score (-?[\d.]+)|no score)/.exec(e.message) : null;
    return m ? [{ face: Number(m[1]), style: Number(m[2]), score: m[3] === undefined ? undefined : Number(m[3]) }] : [];
  });
}

let root: string;
beforeAll(async () => {
  root = await userData();
});

// Dozens of sampling runs on 2 CI cores: more time than the default minute.
describe('lora/adaptive-weights', { timeout: 180_000 }, () => {
  it('returns the argmax of its scores, which an independent re-sample of that pair reproduces', async () => {
    const { r, out, events } = await run(shippedGraph({ minStyle: 0 }), root);
    expect(r.failures).toEqual([]);
    const { face, style, scores, plot, images, stack } = out!;
    // 3 x 3 grid, then up to four neighbours of the best at half steps.
    expect(scores.length).toBeGreaterThanOrEqual(9);
    expect(scores.length).toBeLessThanOrEqual(13);
    const found = scores.filter((s) => !Number.isNaN(s));
    expect(found.length).toBeGreaterThanOrEqual(Math.ceil(0.8 * scores.length));
    expect(new Set(found.map((s) => s.toFixed(4))).size).toBeGreaterThan(3);

    const pairs = pairsFromLog(events);
    expect(pairs.map((p) => p.score ?? Number.NaN).map((s) => s.toFixed(4))).toEqual(scores.map((s) => s.toFixed(4)));
    const best = pairs.reduce<ScoredPair | undefined>((b, p) => (isBetter(p, b, 0) ? p : b), undefined)!;
    expect([face, style]).toEqual([best.face, best.style]);
    expect(Math.max(...found)).toBe(scores[pairs.indexOf(best)]);
    for (const p of pairs.slice(9)) {
      expect(p.face).toBeGreaterThanOrEqual(0);
      expect(p.face).toBeLessThanOrEqual(1.5);
      expect(p.style).toBeGreaterThanOrEqual(0);
      expect(p.style).toBeLessThanOrEqual(1);
    }

    // Sample, decode and score the best pair again, on a model built in memory from the same weights.
    const model = pictureTinyModel(0);
    const again = new LoraStack(stack.entries);
    expect(again.entries.map((e) => e.weight)).toEqual([face, style]);
    const start = await toImage(sharp(path.join(root, 'input', 'my-face.png')).resize(SIZE, SIZE, { fit: 'cover' }).removeAlpha());
    const latent = await sample(model, { prompt: 'a portrait photo of a person, studio light, high quality', negativePrompt: 'blurry, low quality, deformed', ...sampling, scheduler: 'ddim' }, {
      init: start, textLora: again.text, unetLora: (i, n) => again.unet(i, n),
    });
    const [image] = await decodeLatents(model, latent);
    expect(Buffer.from(image!.data).equals(Buffer.from(images[0]!.data))).toBe(true);
    const template = await describeTemplate(faceModels, await toImage(sharp(path.join(root, 'input', 'my-face.png')).removeAlpha()));
    const result = await describeResultFace(faceModels, image!, FACECHAIN_FACE_SIZE);
    expect('descriptor' in result).toBe(true);
    if ('descriptor' in result) expect(dot(result.descriptor, template)).toBeCloseTo(best.score!, 4);

    expect([plot.width, plot.height, plot.channels]).toEqual([PLOT_WIDTH, PLOT_HEIGHT, 3]);
    const progress = events.filter((e) => e.type === 'node.progress');
    expect(progress.length).toBeGreaterThanOrEqual(scores.length);
    // The plot and the latest image after each pair, then the plot and the best image (one event per image).
    expect(events.filter((e) => e.type === 'node.preview')).toHaveLength(2 * (scores.length + 1));
  }, 240_000);

  it('never returns a pair below the style floor', async () => {
    const { r, out, events } = await run(shippedGraph({ minStyle: 0.75 }), root);
    expect(r.failures).toEqual([]);
    const pairs = pairsFromLog(events);
    // The floor cuts the grid: pairs below it were scored and shown, and some beat the returned one.
    expect(pairs.some((p) => p.style < 0.75 && p.score !== undefined)).toBe(true);
    expect(out!.style).toBeGreaterThanOrEqual(0.75);
    const candidates = pairs.filter((p) => p.style >= 0.75 && p.score !== undefined).map((p) => p.score!);
    const returned = pairs.find((p) => p.face === out!.face && p.style === out!.style)!;
    expect(returned.score).toBe(Math.max(...candidates));
    expect(pairs.filter((p) => p.style < 0.75).length).toBeGreaterThan(0);
  }, 240_000);

  it('fails naming the cause when no pair gives a face (the plain tiny model makes noise)', async () => {
    const { r } = await run(shippedGraph({ faceCount: 2, styleCount: 1, rounds: 0 }, 'tiny'), root);
    expect(r.failures).toEqual([
      expect.objectContaining({ node: 'adaptive', message: expect.stringMatching(/^none of the 2 weight pairs gave an image with a usable face/) }),
    ]);
  }, 120_000);

  it('runs the shipped graph (wired for img2img) through the CLI: the sampler uses the best stack, the plot is saved', async () => {
    const out = path.join(root, '..', 'out');
    const file = path.join(root, '..', 'adaptive-img2img.json');
    writeFileSync(file, JSON.stringify(shippedGraph({})));
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), 'run', file, '--data', root, '--out', out, '--quiet']);
    const files = readdirSync(out);
    expect(files).toHaveLength(2);
    const size = async (prefix: string) => {
      const { width, height } = await sharp(path.join(out, files.find((f) => f.startsWith(prefix))!)).metadata();
      return [width, height];
    };
    expect(await size('adaptive-plot-')).toEqual([PLOT_WIDTH, PLOT_HEIGHT]);
    expect(await size(files.find((f) => !f.startsWith('adaptive-plot-'))!)).toEqual([SIZE, SIZE]);
  }, 240_000);
});
