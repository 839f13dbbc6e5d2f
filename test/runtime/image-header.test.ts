// Image headers are read once per version of a file: the same answer from the cache, a changed file
// (another size) read anew, a file that is no image refused and read again once it is one.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { imageHeader } from '../../runtime/image-header.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

afterAll(removeTempDirs);

const png = (width: number, height: number, channels: 3 | 4) => sharp({ create: { width, height, channels, background: '#336699' } }).png().toBuffer();

it('answers a file header, again from the cache, and anew once the file changes', async () => {
  const file = path.join(tempDir('image-header'), 'a.png');
  writeFileSync(file, await png(4, 3, 3));
  const first = imageHeader(file);
  expect(await first).toEqual({ width: 4, height: 3, orientation: 1, hasAlpha: false });
  expect(imageHeader(file)).toBe(first);
  writeFileSync(file, await png(7, 9, 4));
  expect(await imageHeader(file)).toEqual({ width: 7, height: 9, orientation: 1, hasAlpha: true });
});

it('refuses a file that is no image, and reads it again once it is one', async () => {
  const file = path.join(tempDir('image-header'), 'b.png');
  writeFileSync(file, 'not an image');
  await expect(imageHeader(file)).rejects.toThrow();
  writeFileSync(file, await png(2, 5, 3));
  expect(await imageHeader(file)).toMatchObject({ width: 2, height: 5 });
});
