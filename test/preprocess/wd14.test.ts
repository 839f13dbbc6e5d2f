// The optional WD14-layout tagger, on a tiny tagger built with our ONNX builder: each tag's score
// is a sigmoid of one colour channel's mean, so the expected tags follow from the image colour.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { parseSelectedTags, pickTags, Wd14Tagger } from '../../models/preprocess/wd14.ts';
import { toImage } from '../../runtime/image-io.ts';
import { tempDir } from '../helpers/temp.ts';

const CSV = 'tag_id,name,category,count\n1,blue_sky,0,10\n2,red_lips,0,10\n3,general,9,10\n4,1girl,0,10\n';

/** [1, 16, 16, 3] BGR -> channel means -> (mean - 128) / 8 weighted per tag -> sigmoid. */
function tinyTagger(): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('input_1', 'float32', [1, 16, 16, 3]);
  const means = b.reduceMean(x, [1, 2], false);
  // Rows: B, G, R; columns: blue_sky, red_lips, general, 1girl.
  const w = b.initializer('w', Float32Array.from([1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0]), [3, 4]);
  const logits = b.div(b.matMul(b.sub(means, b.constant(128)), w), b.constant(8));
  b.output(b.sigmoid(logits), 'predictions_sigmoid', 'float32');
  return b.toBytes();
}

const solid = (background: string) => toImage(sharp({ create: { width: 40, height: 24, channels: 3, background } }));

describe('WD14-layout tagger', () => {
  it('reads selected_tags.csv and keeps general tags above the threshold, most probable first', () => {
    const vocab = parseSelectedTags(CSV);
    expect(vocab).toEqual({ names: ['blue_sky', 'red_lips', 'general', '1girl'], categories: [0, 0, 9, 0] });
    expect(pickTags([0.5, 0.9, 0.99, 0.2], vocab, 0.35)).toEqual(['red_lips', 'blue_sky']);
    expect(() => pickTags([0.5], vocab, 0.35)).toThrow(/1 scores for 4 tags/);
    expect(() => parseSelectedTags('id,tag\n1,x\n')).toThrow(/name.*category/);
  });

  it('feeds BGR 0..255 at the model size and tags by colour', async () => {
    const dir = tempDir('wd14');
    writeFileSync(path.join(dir, 'tiny.onnx'), tinyTagger());
    writeFileSync(path.join(dir, 'selected_tags.csv'), CSV);
    const tagger = await Wd14Tagger.open(path.join(dir, 'tiny.onnx'), path.join(dir, 'selected_tags.csv'));
    expect(await tagger.tag(await solid('#0000ff'), 0.35)).toEqual(['blue_sky', '1girl']);
    expect(await tagger.tag(await solid('#ff0000'), 0.35)).toEqual(['red_lips']);
    // A black strip is padded square with white, which lifts every colour's tags; rating tags never count.
    const strip = await tagger.tag(await toImage(sharp({ create: { width: 16, height: 2, channels: 3, background: '#000000' } })), 0.35);
    expect(strip.sort()).toEqual(['1girl', 'blue_sky', 'red_lips']);
    expect(await tagger.tag(await solid('#000000'), 0.35)).toEqual([]);
  });
});
