// A Redis run's full-size outputs, written by the worker that ran it under the shared data folder
// (data/output/run-outputs/<runId>/), so that every server can answer GET /api/runs/:id/outputs/... as
// the embedded engine does from memory. Files rather than Redis: outputs are full-size images (megabytes
// each), too big for Redis's memory and AOF, and the shared folder is already there for save nodes.
// Written as raw pixels, made PNG by the server that serves one, as the embedded engine makes PNG from
// memory: the editor opens few of a run's images, and encoding all of them cost a worker more CPU than
// the CPU-bound runs of `bench -- scale` themselves (0.8 s a run: 13 PNGs; raw: a copy to the disk).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DataFolders } from '../../runtime/data-folder.ts';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { readInside, readInsideSync, writeInside } from '../../runtime/safe-open.ts';
import { type Image, isImage } from '../../runtime/values.ts';

/** The folder of data/output that holds runs' outputs, one folder per run. */
export const RUN_OUTPUTS = 'run-outputs';
/** The newest runs' outputs stay on the shared folder, at most this many runs and this many bytes. */
const RUN_OUTPUTS_KEPT = 200;
const RUN_OUTPUTS_BYTES = 2 * 1024 ** 3;
const RUN_ID = /^[0-9a-f-]{36}$/;
/** The index file of a run's folder, written last: what makes its images visible. */
const INDEX = 'outputs.json';

/** Each image's shape (width, height, channels), per node and port: its file holds width x height x channels bytes. */
const IndexSchema = z.record(z.string(), z.record(z.string(), z.array(z.tuple([z.number().int().min(1), z.number().int().min(1), z.union([z.literal(1), z.literal(3), z.literal(4)])])).min(1)));
type OutputIndex = z.infer<typeof IndexSchema>;
/** Images per node and port, as GET /api/runs/:id reports them. */
export type OutputCounts = Record<string, Record<string, number>>;

const folderOf = (runId: string) => `${RUN_OUTPUTS}/${runId}`;
/** A file name that says nothing of node ids and ports (any characters a graph allows): their hash. */
const fileOf = (nodeId: string, port: string, index: number) => `${createHash('sha256').update(`${nodeId}\n${port}`).digest('hex').slice(0, 24)}-${index}.raw`;

const imagesOf = (value: unknown): Image[] => (isImage(value) ? [value] : Array.isArray(value) && value.length && value.every(isImage) ? value : []);
const bytesOf = (index: OutputIndex) => Object.values(index).flatMap((ports) => Object.values(ports).flat()).reduce((sum, [w, h, c]) => sum + w * h * c, 0);

/**
 * Writes every image output of a run (its pixels) and then its index, which is what makes them
 * visible; removes the oldest runs' folders beyond the limits.
 */
export async function writeRunOutputs(data: DataFolders, runId: string, outputs: Map<string, Record<string, unknown>>, limits = { runs: RUN_OUTPUTS_KEPT, bytes: RUN_OUTPUTS_BYTES }): Promise<void> {
  if (!RUN_ID.test(runId)) return;
  const index: OutputIndex = {};
  const folder = folderOf(runId);
  mkdirSync(path.join(data.output, folder), { recursive: true });
  for (const [nodeId, ports] of outputs) {
    for (const [port, value] of Object.entries(ports ?? {})) {
      const images = imagesOf(value);
      for (const [i, image] of images.entries()) await writeInside(data.output, `${folder}/${fileOf(nodeId, port, i)}`, image.data);
      if (images.length) (index[nodeId] ??= {})[port] = images.map((image) => [image.width, image.height, image.channels]);
    }
  }
  // A rerun of the same run (its worker died) writes over the earlier attempt's index.
  rmSync(path.join(data.output, folder, INDEX), { force: true });
  await writeInside(data.output, `${folder}/${INDEX}`, JSON.stringify(index));
  trim(data, limits);
}

function readIndex(data: DataFolders, runId: string): OutputIndex | undefined {
  if (!RUN_ID.test(runId)) return undefined;
  try {
    const index = IndexSchema.safeParse(jsonOrUndefined(readInsideSync(data.output, `${folderOf(runId)}/${INDEX}`).toString('utf8')));
    return index.success ? index.data : undefined;
  } catch {
    return undefined;
  }
}

/** The image counts a worker wrote for a run; undefined when it wrote none (another engine, or removed). */
export function readOutputCounts(data: DataFolders, runId: string): OutputCounts | undefined {
  const index = readIndex(data, runId);
  return index && Object.fromEntries(Object.entries(index).map(([nodeId, ports]) => [nodeId, Object.fromEntries(Object.entries(ports).map(([port, shapes]) => [port, shapes.length]))]));
}

/**
 * One output image, or undefined when the run's index does not list it. Throws (ENOENT) when its file
 * is gone, and when the file is not as long as its shape says (a torn or foreign write).
 */
export async function readRunOutput(data: DataFolders, runId: string, nodeId: string, port: string, index: number): Promise<Image | undefined> {
  const shape = Number.isInteger(index) && index >= 0 ? readIndex(data, runId)?.[nodeId]?.[port]?.[index] : undefined;
  if (!shape) return undefined;
  const [width, height, channels] = shape;
  const bytes = await readInside(data.output, `${folderOf(runId)}/${fileOf(nodeId, port, index)}`);
  if (bytes.length !== width * height * channels) throw new Error(`Output ${nodeId}.${port}[${index}] of run "${runId}" holds ${bytes.length} bytes, not the ${width}x${height}x${channels} its index says`);
  return { width, height, channels, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Keeps the newest runs' folders within the limits (the newest one always). */
function trim(data: DataFolders, limits: { runs: number; bytes: number }): void {
  const root = path.join(data.output, RUN_OUTPUTS);
  const runs = readdirSync(root).filter((name) => RUN_ID.test(name));
  const newestFirst = runs.map((name) => ({ name, at: statSync(path.join(root, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => b.at - a.at);
  let bytes = 0;
  for (const [i, { name }] of newestFirst.entries()) {
    const index = readIndex(data, name);
    bytes += index ? bytesOf(index) : 0;
    if (i > 0 && (i >= limits.runs || bytes > limits.bytes)) rmSync(path.join(root, name), { recursive: true, force: true });
  }
}
