// face/fuse on real photos: the face of one woman (A, sample1) fused into a photo of another (B,
// sample3) moves the result's identity towards A, and not one pixel outside B's face oval changes.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../../models/face/faceres.ts';
import type { DetectedFace } from '../../models/face/types.ts';
import { DEFAULT_FUSE, fuseFace } from '../../models/post/fuse.ts';
import { contour, FACE_OVAL, renderMask, svgPath } from '../../models/preprocess/face-regions.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import type { Image } from '../../runtime/values.ts';
import { testFaceModels, toRawImage } from '../fixtures/faces/photos.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';
import { singleFace } from '../preprocess/photos.ts';

const models = testFaceModels();
const data = tempData();
const ex = new Executor({ registry: testRegistry(), data, services: { faceModels: models } });

beforeAll(async () => {
  mkdirSync(path.join(data.input, 'generated'), { recursive: true });
  await (await singleFace(1, 0)).png().toFile(path.join(data.input, 'a.png'));
  const b = await singleFace(3, 0);
  await b.clone().png().toFile(path.join(data.input, 'generated', 'b.png'));
  // Real pixels without a face: the bottom of B's photo (hands, glass, jacket).
  const { width, height } = await b.metadata();
  await b.clone().extract({ left: 0, top: height - 300, width, height: 300 }).png().toFile(path.join(data.input, 'generated', 'no-face.png'));
});

async function fuse(params: Record<string, unknown> = {}, template = 'a.png') {
  const events: RunEvent[] = [];
  const r = await ex.run(
    graph(
      [
        { id: 'template', type: 'image/load-images', params: { path: template } },
        { id: 'generated', type: 'image/load-images', params: { path: 'generated' } },
        { id: 'fuse', type: 'face/fuse', params },
      ],
      [['template', 'image', 'fuse', 'template'], ['generated', 'images', 'fuse', 'images']],
    ),
    { onEvent: (e) => events.push(e) },
  );
  const logs = events.flatMap((e) => (e.type === 'log' ? [`${e.level}: ${e.message}`] : []));
  const previews = events.filter((e) => e.type === 'node.preview' && e.nodeId === 'fuse');
  return { r, logs, previews, input: r.outputs.get('generated')?.images as Image[], output: r.outputs.get('fuse')?.images as Image[] };
}

const largest = (faces: DetectedFace[]) => faces.sort((x, y) => y.box.width - x.box.width)[0];

async function identity(img: Image) {
  const face = largest(await models.detect(img));
  expect(face, `a face in ${img.name}`).toBeDefined();
  return (await models.describe(img, [face!]))[0]!.descriptor;
}

describe('face/fuse', () => {
  it("moves B's face towards A's identity and leaves everything outside B's face oval untouched", async () => {
    const { r, logs, previews, input, output } = await fuse();
    expect(r.failures).toEqual([]);
    expect(output.map((i) => i.name)).toEqual(['b.png', 'no-face.png']);
    const [b, wall] = input;
    const [fused, wallOut] = output;

    // Identity: measured 0.406 -> 0.642 (+0.236) at the default strength 0.8.
    const a = await toRawImage(sharp(path.join(data.input, 'a.png')));
    const dA = await identity(a);
    const before = cosineSimilarity(await identity(b!), dA);
    const after = cosineSimilarity(await identity(fused!), dA);
    expect(after - before, `similarity to A ${before.toFixed(3)} -> ${after.toFixed(3)}`).toBeGreaterThan(0.15);
    // The mesh warp follows B's pose: it carries more of A than moving, scaling and turning A's face does.
    const similarityOnly = cosineSimilarity(await identity((await fuse({ warp: 'similarity' })).output[0]!), dA);
    console.log(`similarity to A: ${before.toFixed(3)} before, ${similarityOnly.toFixed(3)} fused by similarity, ${after.toFixed(3)} by mesh`);
    expect(after).toBeGreaterThan(similarityOnly);

    // Outside B's face oval (grown by 2 px for its anti-aliased edge) not one pixel differs; inside, many do.
    const face = largest(await models.detect(b!))!;
    const oval = await renderMask(b!.width, b!.height, `<path d="${svgPath(contour(face.mesh, FACE_OVAL))}" fill="#fff" stroke="#fff" stroke-width="4"/>`);
    let outside = 0;
    let inside = 0;
    for (let i = 0; i < b!.width * b!.height; i++) {
      let diff = 0;
      for (let c = 0; c < b!.channels; c++) diff = Math.max(diff, Math.abs(fused!.data[i * b!.channels + c]! - b!.data[i * b!.channels + c]!));
      if (diff === 0) continue;
      if (oval.data[i] === 0) outside++;
      else if (diff > 8) inside++;
    }
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(0.3 * face.box.width * face.box.height);

    // The photo without a face passes through as it came, and the log says why.
    expect(Buffer.from(wallOut!.data).equals(Buffer.from(wall!.data))).toBe(true);
    expect(logs).toContainEqual('warn: no-face.png: no face found, passed through unchanged');
    expect(logs.some((l) => /^info: b\.png: fused \(mesh alignment error [\d.]+% of the face width\)$/.test(l))).toBe(true);
    // Before/after pairs.
    expect(previews.length).toBeGreaterThanOrEqual(4);
  });

  it('changes nothing at strength 0', async () => {
    const { r, input, output } = await fuse({ strength: 0 });
    expect(r.failures).toEqual([]);
    expect(Buffer.from(output[0]!.data).equals(Buffer.from(input[0]!.data))).toBe(true);
  });

  it('rejects params out of range and a template without a face, naming them', async () => {
    const bad = await fuse({ strength: 1.5, feather: -0.1 });
    expect(bad.r.status).toBe('failed');
    expect(bad.r.problems.map((p) => `${p.node}:${p.field}`).sort()).toEqual(['fuse:params.feather', 'fuse:params.strength']);

    const noFace = await fuse({}, 'generated/no-face.png');
    expect(noFace.r.failures).toEqual([expect.objectContaining({ node: 'fuse', message: 'inputs.template: no face found in the template image (no-face.png)' })]);
  });
  it('follows the pose: with a turned template the mesh warp carries clearly more identity than a similarity', async () => {
    // Measured on six demo pairs: the mesh warp wins every time, by 0.005-0.055; most where the two
    // faces' poses differ most (this pair: 0.543 by similarity, 0.598 by mesh, from 0.388).
    const a = await toRawImage(await singleFace(4, 1));
    const b = await toRawImage(await singleFace(3, 2));
    const [fa, fb] = [largest(await models.detect(a)), largest(await models.detect(b))];
    const dA = (await models.describe(a, [fa!]))[0]!.descriptor;
    const score = async (warp: 'mesh' | 'similarity') => {
      const r = await fuseFace(b, fb!, a, fa!, { ...DEFAULT_FUSE, warp });
      if ('reason' in r) throw new Error(r.reason);
      return cosineSimilarity(await identity(r.image), dA);
    };
    const [bySimilarity, byMesh] = [await score('similarity'), await score('mesh')];
    expect(byMesh - bySimilarity, `similarity ${bySimilarity.toFixed(3)}, mesh ${byMesh.toFixed(3)}`).toBeGreaterThan(0.03);
  });
});
