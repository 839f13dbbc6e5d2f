import { describe, expect, it } from 'vitest';
import { isImageFile } from '../../protocol/index.ts';

describe('isImageFile', () => {
  it('takes the formats sharp decodes, in any case', () => {
    for (const name of ['a.jpg', 'b.JPEG', 'c.png', 'd.webp', 'e.avif', 'f.tif', 'g.tiff', 'h.gif', 'i.heic', 'j.HEIF']) {
      expect(isImageFile(name), name).toBe(true);
    }
  });

  it('refuses other files and names that only contain an extension', () => {
    for (const name of ['notes.txt', 'lora.safetensors', 'graph.json', 'jpg', 'x.jpg.txt', 'folder']) {
      expect(isImageFile(name), name).toBe(false);
    }
  });
});
