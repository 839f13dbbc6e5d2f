// Face models on CPU, per face, over the six demo photos (about 1920x1300, 22 faces):
// detection (BlazeFace on the whole photo, shared by its faces), landmarks (two FaceMesh passes,
// crops included), embedding (FaceRes crop + run), then the whole detect() call per photo.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectCandidates, runFaceMesh, squareAroundDetection } from '../models/face/detect.ts';
import { FaceModels, prepareFaceModels } from '../models/face/face-models.ts';
import { squareAroundMesh } from '../models/face/mesh-points.ts';
import { demoPhoto, PHOTO_NUMBERS } from '../test/fixtures/faces/photos.ts';

const cache = mkdtempSync(path.join(os.tmpdir(), 'face-bench-'));
let t = performance.now();
await prepareFaceModels(cache);
console.log(`convert all face models: ${(performance.now() - t).toFixed(0)} ms`);

const models = new FaceModels(cache);
const [blazeface, facemesh, faceres] = await Promise.all(['blazeface-back', 'facemesh', 'faceres'].map((id) => models.runner(id as 'facemesh')));
const photos = await Promise.all(PHOTO_NUMBERS.map(demoPhoto));

async function once() {
  const ms = { detection: 0, landmarks: 0, embedding: 0, detect: 0 };
  let faces = 0;
  for (const img of photos) {
    t = performance.now();
    const candidates = await detectCandidates(img, blazeface, 0.3, 0.3);
    ms.detection += performance.now() - t;
    t = performance.now();
    const first = await runFaceMesh(img, candidates.map((c) => squareAroundDetection(c)), facemesh);
    await runFaceMesh(img, first.map((r) => squareAroundMesh(r.mesh)), facemesh);
    ms.landmarks += performance.now() - t;
    t = performance.now();
    const found = await models.detect(img);
    ms.detect += performance.now() - t;
    t = performance.now();
    await models.describe(img, found);
    ms.embedding += performance.now() - t;
    faces += found.length;
  }
  return { ms, faces };
}

await once(); // warm-up: sessions, first-run allocations
const runs = 3;
const total = { detection: 0, landmarks: 0, embedding: 0, detect: 0 };
let faces = 0;
for (let i = 0; i < runs; i++) {
  const r = await once();
  for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r.ms[k];
  faces = r.faces;
}
const perFace = (v: number) => (v / runs / faces).toFixed(1).padStart(6);
console.log(`${faces} faces in ${photos.length} photos, ${os.cpus().length} CPU threads, mean of ${runs} runs`);
console.log(`detection (BlazeFace + letterbox)  ${perFace(total.detection)} ms/face`);
console.log(`landmarks (FaceMesh x2 + crops)    ${perFace(total.landmarks)} ms/face`);
console.log(`embedding (FaceRes + aligned crop) ${perFace(total.embedding)} ms/face`);
console.log(`detect() end to end                ${perFace(total.detect)} ms/face (${(total.detect / runs / photos.length).toFixed(0)} ms/photo)`);
