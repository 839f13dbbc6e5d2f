// The shipped preprocessing graph on 10 single-person photos (crops of the demo shots: four level,
// four leaning 10-45 degrees, one turned sideways, one EXIF-tagged). Goal: under 10 s on 2 cores.
// Model conversion and session start-up are timed apart: they happen once per server, not per run.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaceModels, faceModelsDir } from '../models/face/face-models.ts';
import { FACE_MODELS } from '../models/face/registry.ts';
import { openDataFolders } from '../runtime/data-folder.ts';
import { Executor } from '../runtime/executor.ts';
import { writeTestPhotos } from '../test/preprocess/photos.ts';
import { preprocessRegistry } from '../test/preprocess/registry.ts';
import { tempDir } from '../test/helpers/temp.ts';

const data = openDataFolders(tempDir('bench-pre'));
await writeTestPhotos(path.join(data.input, 'photos'), [
  { file: '01.jpg', sample: 6, face: 1 },
  { file: '02.jpg', sample: 3, face: 0 },
  { file: '03.jpg', sample: 5, face: 4 },
  { file: '04.jpg', sample: 6, face: 3 },
  { file: '05.jpg', sample: 3, face: 1 },
  { file: '06.jpg', sample: 1, face: 1 },
  { file: '07.jpg', sample: 4, face: 1 },
  { file: '08.jpg', sample: 2, face: 0 },
  { file: '09.jpg', sample: 6, face: 0, turn: 90 },
  { file: '10.jpg', sample: 5, face: 1, exif: 6 },
]);

let t = performance.now();
const faceModels = new FaceModels(faceModelsDir(path.join(os.tmpdir(), 'facechain-bench-models')));
for (const m of FACE_MODELS) await faceModels.runner(m.id);
const setup = (performance.now() - t) / 1000;

const graph = JSON.parse(readFileSync(path.join(import.meta.dirname, '../graphs/facechain-preprocess.json'), 'utf8'));
graph.nodes.find((n: { id: string }) => n.id === 'load').params.path = 'photos';
const times: number[] = [];
const firstTimings: string[] = [];
let result;
for (let i = 0; i < 3; i++) {
  // A fresh executor each round: nothing comes from the output cache.
  const executor = new Executor({ registry: preprocessRegistry(), data, services: { faceModels } });
  t = performance.now();
  result = await executor.run(graph);
  times.push((performance.now() - t) / 1000);
  if (i === 0) for (const [id, ms] of Object.entries(result.timings)) firstTimings.push(`${id} ${(ms / 1000).toFixed(2)}`);
  if (result.status !== 'finished') throw new Error(`run ${result.status}: ${result.failures.map((f) => f.message).join('; ')}`);
}
const best = Math.min(...times);
const perNode = Object.entries(result!.timings).map(([id, ms]) => `${id} ${(ms / 1000).toFixed(2)}`).join(', ');
const kept = (result!.outputs.get('dataset')!.dataset as { entries: unknown[] }).entries.length;
console.log(`face models: ${setup.toFixed(2)} s to convert (first time) and open`);
console.log(`preprocess graph, 10 photos -> ${kept} training images: ${best.toFixed(2)} s best of 3 (${times.map((x) => x.toFixed(2)).join(', ')}) (goal < 10 s) ${best < 10 ? 'OK' : 'MISSED'}`);
console.log(`per node, first run (s): ${firstTimings.join(', ')}`);
console.log(`per node, last run (s): ${perNode}`);
