import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { addPngText, readPngText } from '../../protocol/index.ts';

describe('PNG text chunks', () => {
  it('round-trips UTF-8 text and keeps the image decodable', async () => {
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#336699' } }).png().toBuffer();
    const text = JSON.stringify({ graph: { name: 'Porträt — 肖像' }, n: 1 });
    const tagged = addPngText(png, 'facechain-graph', text);
    expect(readPngText(tagged)['facechain-graph']).toBe(text);
    const meta = await sharp(Buffer.from(tagged)).metadata();
    expect([meta.width, meta.height]).toEqual([4, 3]);
    const pixels = await sharp(Buffer.from(tagged)).raw().toBuffer();
    expect([...pixels.subarray(0, 3)]).toEqual([0x33, 0x66, 0x99]);
  });

  it('rejects what is not a PNG', () => {
    expect(() => readPngText(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(/Not a PNG/);
  });
});
