// Masked sampling on the built-in demo model: the kept region comes back as the VAE round trip gives
// it, the masked region is redrawn; with the decode overlay the kept pixels are the image's own.
import { afterAll, describe, expect, it } from 'vitest';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { decodeLatents, encodeImage } from '../../models/sd/vae-codec.ts';
import { createScheduler } from '../../models/sd/schedulers/index.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { demoPhoto, sharpOf, toRawImage } from '../fixtures/faces/photos.ts';
import { removeTempDirs } from '../helpers/temp.ts';
import { tempData } from '../helpers/test-nodes.ts';

const data = tempData();
afterAll(removeTempDirs);

const SIZE = 256;
// The repainted square (px), on 8 px latent cells.
const BOX = { x0: 96, y0: 80, x1: 176, y1: 168 };

async function startImage(): Promise<Image> {
  // A face of the first demo photo, as the sampler's start image.
  const photo = await demoPhoto(1);
  const img = await toRawImage(sharpOf(photo).extract({ left: 300, top: 330, width: 320, height: 320 }).resize(SIZE, SIZE).removeAlpha());
  return { ...img, channels: 3 };
}

function boxMask(): Mask {
  const data = new Uint8Array(SIZE * SIZE);
  for (let y = BOX.y0; y < BOX.y1; y++) data.fill(255, y * SIZE + BOX.x0, y * SIZE + BOX.x1);
  return { width: SIZE, height: SIZE, channels: 1, data };
}

/** Mean absolute difference per channel value of `a` and `b` over the pixels `where` picks. */
function meanDiff(a: Image, b: Image, where: (x: number, y: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      if (!where(x, y)) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * SIZE + x) * 3 + c]! - b.data[(y * SIZE + x) * 3 + c]!);
      n += 3;
    }
  }
  return sum / n;
}

const inside = (x: number, y: number) => x >= BOX.x0 && x < BOX.x1 && y >= BOX.y0 && y < BOX.y1;
// The decoder mixes neighbouring latent cells: two cells (16 px) around the mask are its reach.
const farOutside = (x: number, y: number) => x < BOX.x0 - 16 || x >= BOX.x1 + 16 || y < BOX.y0 - 16 || y >= BOX.y1 + 16;

const params = { prompt: 'a photo of a woman', steps: 12, scheduler: 'ddim', cfg: 7, width: SIZE, height: SIZE, strength: 1, seed: 3 } as const;

describe('masked sampling (demo model)', () => {
  it('keeps the unmasked region within the VAE round-trip error and redraws the masked one, for each masked content', async () => {
    const model = await loadSdModel('demo', data.models);
    const init = await startImage();
    const mask = boxMask();
    const { mean } = await encodeImage(model, init);
    const [roundTrip] = await decodeLatents(model, { data: mean, batch: 1, channels: 4, height: SIZE / 8, width: SIZE / 8 });
    const roundTripError = meanDiff(roundTrip!, init, farOutside);

    for (const maskedContent of ['original', 'noise', 'fill'] as const) {
      const latent = await sample(model, { ...params, maskedContent }, { init, mask });
      const [out] = await decodeLatents(model, latent);
      const kept = meanDiff(out!, init, farOutside);
      expect(kept, `${maskedContent}: kept region vs the image (round trip ${roundTripError.toFixed(2)})`).toBeLessThan(roundTripError * 1.25 + 0.5);
      // The demo VAE levels each colour channel over the whole picture, so what the masked region
      // becomes shifts the kept pixels a little (measured up to 2.06 levels with the three-phase demo UNet).
      expect(meanDiff(out!, roundTrip!, farOutside), maskedContent).toBeLessThan(3);
      expect(meanDiff(out!, roundTrip!, inside), `${maskedContent}: masked region vs the round trip`).toBeGreaterThan(10);

      // With the overlay the sampler node adds, the kept pixels are the image's own.
      const [overlaid] = await decodeLatents(model, { ...latent, overlay: { image: init, mask } });
      expect(meanDiff(overlaid!, init, (x, y) => !inside(x, y))).toBe(0);
      expect(meanDiff(overlaid!, out!, inside)).toBe(0);
    }
  }, 300_000);

  it('starts the masked region from noise or the mean colour as asked, and leaves txt2img and img2img as they were', async () => {
    const model = await loadSdModel('demo', data.models);
    const init = await startImage();
    const mask = boxMask();
    const quick = { ...params, steps: 4 };
    const runs = await Promise.all((['original', 'noise', 'fill'] as const).map(async (maskedContent) => (await sample(model, { ...quick, maskedContent }, { init, mask })).data));
    expect(runs[0]).not.toEqual(runs[1]);
    expect(runs[0]).not.toEqual(runs[2]);
    // No mask: maskedContent does nothing.
    const a = await sample(model, { ...quick, strength: 0.6, maskedContent: 'noise' }, { init });
    const b = await sample(model, { ...quick, strength: 0.6 }, { init });
    expect(a.data).toEqual(b.data);
  }, 300_000);

  it('previews every step and cancels between steps, as txt2img does', async () => {
    const model = await loadSdModel('demo', data.models);
    const abort = new AbortController();
    const seen: number[] = [];
    const run = sample(model, { ...params, steps: 6 }, {
      init: await startImage(), mask: boxMask(), signal: abort.signal,
      onStep: (s) => {
        seen.push(s.index);
        if (s.index === 1) abort.abort(new Error('cancelled by the test'));
      },
    });
    await expect(run).rejects.toThrow('cancelled by the test');
    expect(seen).toEqual([0, 1]);
  });

  it('needs the start image and a mask of the sampling size', async () => {
    const model = await loadSdModel('demo', data.models);
    const init = await startImage();
    await expect(sample(model, params, { mask: boxMask() })).rejects.toThrow(/start image/);
    const small: Mask = { width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64) };
    await expect(sample(model, params, { init, mask: small })).rejects.toThrow(/mask is 64x64, sampling 256x256/);
  });
});

describe('schedulers re-noise a clean latent to the level after each call', () => {
  it('ends at the clean latent and starts one level below the start noise', () => {
    const clean = Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1);
    const noise = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
    for (const name of ['ddim', 'pndm', 'euler', 'euler_a', 'dpmpp_2m_karras', 'lcm'] as const) {
      const s = createScheduler({ name, steps: 6 });
      const n = s.timesteps.length;
      expect(s.noiseAfter(n - 1, clean, noise), name).toEqual(clean);
      const dist = (a: Float32Array) => Math.hypot(...a.map((v, k) => v - clean[k]!));
      // Noise shrinks call by call.
      const levels = Array.from({ length: n }, (_, i) => dist(s.noiseAfter(i, clean, noise)));
      for (let i = 1; i < n; i++) expect(levels[i], `${name} call ${i}`).toBeLessThanOrEqual(levels[i - 1]! + 1e-6);
      expect(levels[0], name).toBeLessThan(dist(s.addNoise(clean, noise)) + 1e-6);
    }
  });
});
