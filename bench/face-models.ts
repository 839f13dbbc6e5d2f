// Face models on CPU, per face, over the six demo photos (about 1920x1300, 22 faces):
// detection (BlazeFace on the whole photo, shared by its faces), landmarks (two FaceMesh passes,
// crops included), embedding (FaceRes crop + run), then the whole detect() call per photo.
import os from 'node:os';
import { detectCandidates, runFaceMesh, squareAroundDetection } from '../models/face/detect.ts';
import { FaceModels, prepareFaceModels } from '../models/face/face-models.ts';
import { squareAroundMesh } from '../models/face/mesh-points.ts';
import { demoPhoto, PHOTO_NUMBERS } from '../test/fixtures/faces/photos.ts';
import { tempDir } from '../test/helpers/temp.ts';

const cache = tempDir('face-bench');
let t = performance.now();
await prepareFaceModels(cache);
console.log(`convert all face models: ${(performance.now() - t).toFixed(0)} ms`);

const models = new FaceModels(cache);
const [blazeface, facemesh, faceres] = await Promise.all(['blazeface-back', 'facemesh', 'faceres'].map((id) => models.runner(id as 'facemesh')));
const photos = await Promise.all(PHOTO_NUMBERS.map(demoPhoto));

type Section = 'detection' | 'landmarks' | 'embedding' | 'detect';
const SECTIONS: Section[] = ['detection', 'landmarks', 'embedding', 'detect'];

/** Wall and process CPU milliseconds (CPU counts ORT's threads too; steadier on a busy machine). */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const w = performance.now();
  await fn();
  const used = process.cpuUsage(c);
  return { wall: performance.now() - w, cpu: (used.user + used.system) / 1000 };
}

async function once() {
  const ms = Object.fromEntries(SECTIONS.map((k) => [k, { wall: 0, cpu: 0 }])) as Record<Section, { wall: number; cpu: number }>;
  const add = (k: Section, t: { wall: number; cpu: number }) => {
    ms[k].wall += t.wall;
    ms[k].cpu += t.cpu;
  };
  let faces = 0;
  for (const img of photos) {
    let candidates: Awaited<ReturnType<typeof detectCandidates>> = [];
    add('detection', await timed(async () => (candidates = await detectCandidates(img, blazeface!, 0.3, 0.3))));
    add('landmarks', await timed(async () => {
      const first = await runFaceMesh(img, candidates.map((c) => squareAroundDetection(c)), facemesh!);
      await runFaceMesh(img, first.map((r) => squareAroundMesh(r.mesh)), facemesh!);
    }));
    let found: Awaited<ReturnType<typeof models.detect>> = [];
    add('detect', await timed(async () => (found = await models.detect(img))));
    add('embedding', await timed(() => models.describe(img, found)));
    faces += found.length;
  }
  return { ms, faces };
}

await once(); // warm-up: sessions, first-run allocations
const runs = 3;
const total = Object.fromEntries(SECTIONS.map((k) => [k, { wall: 0, cpu: 0 }])) as Record<Section, { wall: number; cpu: number }>;
let faces = 0;
for (let i = 0; i < runs; i++) {
  const r = await once();
  for (const k of SECTIONS) {
    total[k].wall += r.ms[k].wall;
    total[k].cpu += r.ms[k].cpu;
  }
  faces = r.faces;
}
const perFace = (k: Section) => `${(total[k].wall / runs / faces).toFixed(1).padStart(6)} ms/face wall, ${(total[k].cpu / runs / faces).toFixed(1).padStart(6)} ms CPU`;
console.log(`${faces} faces in ${photos.length} photos, ${os.cpus().length} CPU threads, load ${os.loadavg()[0]!.toFixed(1)}, mean of ${runs} runs`);
console.log(`detection (BlazeFace + letterbox)  ${perFace('detection')}`);
console.log(`landmarks (FaceMesh x2 + crops)    ${perFace('landmarks')}`);
console.log(`embedding (FaceRes + aligned crop) ${perFace('embedding')}`);
console.log(`detect() end to end                ${perFace('detect')} (${(total.detect.wall / runs / photos.length).toFixed(0)} ms/photo)`);
