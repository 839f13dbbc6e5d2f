// The shipped adaptive-weights graph on the tiny model with a picture-keeping VAE (picture-vae.ts), two
// random tiny LoRAs and a real demo-photo face crop as a user's data folder: shared by the v1 and v2 tests.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tiny } from '../../models/sd/config.ts';
import type { LoraStack } from '../../models/lora/stack.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import type { Image } from '../../runtime/values.ts';
import { testFaceModels } from '../fixtures/faces/photos.ts';
import { testRegistry } from '../helpers/test-nodes.ts';
import { randomLora, writeTinyLoras } from '../lora/random-lora.ts';
import { singleFace } from '../preprocess/photos.ts';
import { writePictureCheckpoint } from './picture-vae.ts';
import { tempDir } from '../helpers/temp.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const graphFile = path.join(ROOT, 'graphs/adaptive-weights.json');
export const SIZE = 384;
export const sampling = { width: SIZE, height: SIZE, steps: 10, cfg: 5, scheduler: 'ddim', strength: 0.15, seed: 7 };
const search = { faceMin: 0, faceMax: 1.5, faceCount: 3, styleMin: 0, styleMax: 1, styleCount: 3, rounds: 1 };
const [faceLora, styleLora] = [randomLora(tiny, { seed: 41, rank: 4 }), randomLora(tiny, { seed: 42, rank: 2 })];
export const faceModels = testFaceModels();

/** A data folder as a user would set it up: the picture-VAE checkpoint, the two LoRAs, their face photo. */
export async function userData(): Promise<string> {
  const root = path.join(tempDir('adaptive'), 'data');
  const data = openDataFolders(root);
  await writePictureCheckpoint(data.models);
  await writeTinyLoras(data.models, { 'my-face-lora.safetensors': faceLora, 'my-style-lora.safetensors': styleLora });
  mkdirSync(data.input, { recursive: true });
  // Square, so the img2img cover-resize keeps the whole face (about 0.33 of the side at 384 px).
  await (await singleFace(1, 0)).resize(700, 700, { fit: 'cover', position: 'top' }).png().toFile(path.join(data.input, 'my-face.png'));
  return root;
}

/** The shipped graph with test-sized sampling and the given adaptive params. */
export function shippedGraph(adaptive: Record<string, unknown>, checkpoint = 'tiny-picture.safetensors') {
  const doc = JSON.parse(readFileSync(graphFile, 'utf8'));
  const node = (id: string) => doc.nodes.find((n: { id: string }) => n.id === id);
  node('checkpoint').params.checkpoint = checkpoint;
  // The test's own LoRAs and face photo, under the names a user's would have.
  node('styleLora').params.file = 'my-style-lora.safetensors';
  node('template').params.path = 'my-face.png';
  Object.assign(node('adaptive').params, sampling, search, adaptive);
  Object.assign(node('sampler').params, sampling, { batch: 1 });
  // img2img from the face photo, wired as the graph's description says: the tiny model's pictures keep a
  // face only at low strength (the shipped graph is text-to-image for the demo model).
  for (const to of ['adaptive', 'sampler']) doc.edges.push({ from: { node: 'template', port: 'image' }, to: { node: to, port: 'image' } });
  return doc;
}

/** Runs a graph on the data folder; the adaptive node's outputs and events. */
export async function run(doc: unknown, root: string, runId?: string) {
  const events: RunEvent[] = [];
  const ex = new Executor({ registry: testRegistry(), data: openDataFolders(root), services: { faceModels }, progressIntervalMs: 0 });
  const r = await ex.run(doc, { runId, onEvent: (e) => events.push(e) });
  const out = r.outputs.get('adaptive') as { face: number; style: number; stack: LoraStack; images: Image[]; plot: Image; scores: number[] } | undefined;
  return { r, out, events: events.filter((e) => 'nodeId' in e && e.nodeId === 'adaptive') };
}

