// score/identity and score/faces on real photos: her altered crops score higher against her reference
// than other women's crops; a result without a usable face has no score; the face count of a group photo.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import { demoPhoto, sharpOf, testFaceModels } from '../fixtures/faces/photos.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';
import { singleFace } from '../preprocess/photos.ts';

const data = tempData();
const ex = new Executor({ registry: testRegistry(), data, services: { faceModels: testFaceModels() } });

beforeAll(async () => {
  for (const d of ['her', 'others', 'ref']) mkdirSync(path.join(data.input, d), { recursive: true });
  const her = await singleFace(1, 0);
  await her.clone().png().toFile(path.join(data.input, 'ref/her.png'));
  await her.clone().flop().png().toFile(path.join(data.input, 'her/flipped.png'));
  await her.clone().rotate(8, { background: '#ffffff' }).png().toFile(path.join(data.input, 'her/turned.png'));
  for (const [s, f] of [[2, 0], [3, 0]]) await (await singleFace(s!, f!)).png().toFile(path.join(data.input, `others/${s}-${f}.png`));
  await sharpOf(await demoPhoto(3)).resize(960).jpeg().toFile(path.join(data.input, 'group.jpg'));
});

async function scores(results: string) {
  const r = await ex.run(
    graph(
      [
        { id: 'results', type: 'image/load-images', params: { path: results } },
        { id: 'ref', type: 'image/load-images', params: { path: 'ref' } },
        { id: 'identity', type: 'score/identity', params: { minFaceSize: 0.1, maxFaceSize: 2 } },
        { id: 'faces', type: 'score/faces' },
      ],
      [
        ['results', 'images', 'identity', 'images'],
        ['ref', 'images', 'identity', 'reference'],
        ['results', 'images', 'faces', 'images'],
      ],
    ),
  );
  expect(r.failures).toEqual([]);
  return { identity: r.outputs.get('identity')!, faces: r.outputs.get('faces')! };
}

describe('identity and face-count scores', () => {
  it('score her crops above other women, with one face each', async () => {
    const her = await scores('her');
    const others = await scores('others');
    console.log(`identity: her ${(her.identity.identity as number).toFixed(3)}, others ${(others.identity.identity as number).toFixed(3)}`);
    expect(her.identity.identity as number).toBeGreaterThan((others.identity.identity as number) + 0.2);
    expect(her.identity.scored).toBe(1);
    expect(her.faces).toMatchObject({ presence: 1, count: 1, counts: [1, 1] });
  });

  it('has no identity score for a group photo, and counts its faces', async () => {
    const group = await scores('group.jpg');
    expect(group.identity.identity).toBeNaN();
    expect(group.identity.scored).toBe(0);
    expect(group.faces.presence).toBe(1);
    expect(group.faces.count as number).toBeGreaterThanOrEqual(3);
  });
});
