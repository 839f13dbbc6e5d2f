import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { TrainingSet } from '../../models/train/training-set.ts';
import { toImage } from '../../runtime/image-io.ts';
import { Rng } from '../../runtime/rng.ts';
import { tempDir } from '../helpers/temp.ts';

describe('training set', () => {
  it('draws seeded latents; flips and random crops change them, the same seed repeats them', async () => {
    const model = tinyModel(0);
    const disc = '<svg width="64" height="64"><circle cx="18" cy="30" r="14" fill="#fff"/></svg>';
    const image = await toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: '#b43' } }).composite([{ input: Buffer.from(disc) }]).removeAlpha());
    const dataset = await writeDataset(tempDir('set'), [{ image, photo: 'a.png', text: 'a photo of <sks>' }], { token: '<sks>', subject: 'a woman' });
    const set = await TrainingSet.open(model, dataset, 64);
    expect([set.size, set.latentSide, set.captions]).toEqual([1, 8, ['a photo of <sks>']]);

    const plain = { flip: false, cropMin: 1 };
    const a = await set.draw(0, plain, new Rng(1));
    expect(a).toMatchObject({ index: 0, flipped: false, caption: 'a photo of <sks>' });
    expect(a.latent).toHaveLength(4 * 8 * 8);
    expect((await set.draw(0, plain, new Rng(1))).latent).toEqual(a.latent);
    // Another seed draws another sample of the same VAE distribution.
    expect((await set.draw(0, plain, new Rng(2))).latent).not.toEqual(a.latent);

    // With flip on, some seed flips. Against a plain draw with the same noise (the flip's coin tossed
    // and ignored) only the mirrored picture differs, and so does the latent.
    const seeds = Array.from({ length: 8 }, (_, s) => s + 1);
    const flips = await Promise.all(seeds.map((s) => set.draw(0, { flip: true, cropMin: 1 }, new Rng(s))));
    const flipped = flips.find((d) => d.flipped)!;
    expect(flipped).toBeDefined();
    const sameNoise = new Rng(seeds[flips.indexOf(flipped)]!);
    sameNoise.uniform();
    expect(flipped.latent).not.toEqual((await set.draw(0, plain, sameNoise)).latent);
    const notFlipped = flips.find((d) => !d.flipped)!;
    const sameNoise2 = new Rng(seeds[flips.indexOf(notFlipped)]!);
    sameNoise2.uniform();
    expect(notFlipped.latent).toEqual((await set.draw(0, plain, sameNoise2)).latent);

    // A crop against a plain draw with the same noise (the crop's three draws made and ignored).
    const cropped = await set.draw(0, { flip: false, cropMin: 0.6 }, new Rng(1));
    const afterCropDraws = () => {
      const rng = new Rng(1);
      for (let i = 0; i < 3; i++) rng.uniform();
      return rng;
    };
    expect(cropped.latent).not.toEqual((await set.draw(0, plain, afterCropDraws())).latent);
    // The same with a crop of the whole image: nothing but the noise is left, and it matches.
    const whole = await set.draw(0, { flip: false, cropMin: 0.999 }, new Rng(1));
    expect(whole.latent).toEqual((await set.draw(0, plain, afterCropDraws())).latent);
    expect((await set.draw(0, { flip: false, cropMin: 0.6 }, new Rng(1))).latent).toEqual(cropped.latent);

    await expect(TrainingSet.open(model, dataset, 60)).rejects.toThrow(/params\.resolution: 60 is not a multiple of 8/);
  });
});
