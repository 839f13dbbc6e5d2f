// The shipped preprocessing graph through the CLI, on single-person photos made from the demo shots.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { prepareFaceModels, faceModelsDir } from '../../models/face/face-models.ts';
import { decodeImage } from '../../runtime/image-io.ts';
import { demoPhoto, sharpOf, testFaceModels } from '../fixtures/faces/photos.ts';
import { writeTestPhotos } from './photos.ts';
import { tempDir, sharedDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const models = testFaceModels();
const deg = (r: number) => (r * 180) / Math.PI;

describe('graphs/facechain-preprocess.json', () => {
  it('turns photos of faces into a captioned set of level, centred faces and a template; drops the unusable with reasons', async () => {
    const tmp = tempDir('pre');
    const data = path.join(tmp, 'data');
    const input = path.join(data, 'input', 'photos');
    await writeTestPhotos(input, [
      { file: 'a-upright.jpg', sample: 6, face: 1 },
      { file: 'b-leaning-12.jpg', sample: 3, face: 1 },
      { file: 'c-leaning-44.jpg', sample: 1, face: 1 },
      { file: 'd-leaning-29.jpg', sample: 4, face: 1 },
      { file: 'e-sideways.jpg', sample: 6, face: 0, turn: 90 },
      { file: 'f-exif-6.jpg', sample: 2, face: 0, exif: 6 },
      { file: 'g-profile.jpg', sample: 2, face: 1 },
    ]);
    await sharpOf(await demoPhoto(3)).resize(1280).jpeg().toFile(path.join(input, 'h-group.jpg'));
    // Reuse the test conversions of the face models instead of converting them again.
    const converted = faceModelsDir(path.join(data, 'models'));
    mkdirSync(converted, { recursive: true });
    for (const file of Object.values(await prepareFaceModels(sharedDir('face-models')))) {
      copyFileSync(file, path.join(converted, path.basename(file)));
    }

    const out = path.join(tmp, 'out');
    const args = ['run', 'graphs/facechain-preprocess.json', '--data', data, '--out', out, '--set', 'load.path=photos'];
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), ...args], { cwd: ROOT }).catch((e) => e);
    expect(r.stderr).toMatch(/finished in/);
    expect(r.stderr).toMatch(/h-group\.jpg: 3 faces of similar size/);
    expect(r.stderr).toMatch(/g-profile\.jpg: (no face found|head turned too far)/);
    expect(r.stderr).toMatch(/e-sideways\.jpg: turned 270 degrees/);

    // The template face, saved by the graph.
    const saved = readdirSync(out);
    expect(saved).toEqual([expect.stringMatching(/^template-.*\.png$/)]);
    expect(await sharp(path.join(out, saved[0]!)).metadata()).toMatchObject({ width: 512, height: 512 });

    // The dataset: the six usable photos, each captioned with the token and the Table 1 phrase.
    const dirs = readdirSync(path.join(data, 'cache', 'nodes')).map((d) => path.join(data, 'cache', 'nodes', d));
    const dir = dirs.find((d) => readdirSync(d).includes('metadata.jsonl'))!;
    const lines = readFileSync(path.join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    for (const [i, line] of lines.entries()) {
      expect(line).toEqual({ file_name: `${String(i).padStart(3, '0')}.png`, text: '<sks>, a beautiful woman' });
      const img = await decodeImage(path.join(dir, line.file_name));
      expect([img.width, img.height]).toEqual([512, 512]);
      const faces = await models.detect(img);
      expect(faces, line.file_name).toHaveLength(1);
      const { box, roll } = faces[0]!;
      expect(Math.abs(deg(roll)), `${line.file_name} level`).toBeLessThan(2);
      expect(Math.abs((box.x + box.width / 2) / 512 - 0.5), `${line.file_name} centred`).toBeLessThan(0.02);
      expect(Math.abs(Math.max(box.width, box.height) / 512 - 0.35 / 1.15), `${line.file_name} face ratio`).toBeLessThan(0.02);
      // Outside the head is white.
      expect([...img.data.subarray(0, 3)]).toEqual([255, 255, 255]);
    }
  });
});
