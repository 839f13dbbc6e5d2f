// A Redis run's full-size outputs, written by the worker that ran it under the shared data folder
// (data/output/run-outputs/<runId>/), so that every server can answer GET /api/runs/:id/outputs/... as
// the embedded engine does from memory. Files rather than Redis: outputs are full-size images (megabytes
// each), too big for Redis's memory and AOF, and the shared folder is already there for save nodes.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DataFolders } from '../../runtime/data-folder.ts';
import { fromImage } from '../../runtime/image-io.ts';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { openInside, readInsideSync, writeInside } from '../../runtime/safe-open.ts';
import { type Image, isImage } from '../../runtime/values.ts';

/** The folder of data/output that holds runs' outputs, one folder per run. */
export const RUN_OUTPUTS = 'run-outputs';
/** Runs whose outputs stay on the shared folder; writing one more removes the oldest. */
export const RUN_OUTPUTS_KEPT = 200;
const RUN_ID = /^[0-9a-f-]{36}$/;

/** Images per node and port, as GET /api/runs/:id reports them. */
const CountsSchema = z.record(z.string(), z.record(z.string(), z.number().int().min(1)));
export type OutputCounts = z.infer<typeof CountsSchema>;

const folderOf = (runId: string) => `${RUN_OUTPUTS}/${runId}`;
/** A file name that says nothing of node ids and ports (any characters a graph allows): their hash. */
const fileOf = (nodeId: string, port: string, index: number) => `${createHash('sha256').update(`${nodeId}\n${port}`).digest('hex').slice(0, 24)}-${index}.png`;

const imagesOf = (value: unknown): Image[] => (isImage(value) ? [value] : Array.isArray(value) && value.length && value.every(isImage) ? value : []);

/**
 * Writes every image output of a run (PNG, fast compression: written once, read seldom) and then its
 * counts file, which is what makes them visible; removes the oldest runs' folders beyond the limit.
 */
export async function writeRunOutputs(data: DataFolders, runId: string, outputs: Map<string, Record<string, unknown>>): Promise<void> {
  if (!RUN_ID.test(runId)) return;
  const counts: OutputCounts = {};
  const folder = folderOf(runId);
  mkdirSync(path.join(data.output, folder), { recursive: true });
  for (const [nodeId, ports] of outputs) {
    for (const [port, value] of Object.entries(ports ?? {})) {
      const images = imagesOf(value);
      for (const [i, image] of images.entries()) {
        const png = await fromImage(image).png({ compressionLevel: 1, adaptiveFiltering: false }).toBuffer();
        await writeInside(data.output, `${folder}/${fileOf(nodeId, port, i)}`, png);
      }
      if (images.length) (counts[nodeId] ??= {})[port] = images.length;
    }
  }
  // A rerun of the same run (its worker died) writes over the earlier attempt's counts.
  rmSync(path.join(data.output, folder, 'outputs.json'), { force: true });
  await writeInside(data.output, `${folder}/outputs.json`, JSON.stringify(counts));
  trim(data);
}

/** The counts a worker wrote for a run; undefined when it wrote none (another engine, or removed). */
export function readOutputCounts(data: DataFolders, runId: string): OutputCounts | undefined {
  if (!RUN_ID.test(runId)) return undefined;
  try {
    const counts = CountsSchema.safeParse(jsonOrUndefined(readInsideSync(data.output, `${folderOf(runId)}/outputs.json`).toString('utf8')));
    return counts.success ? counts.data : undefined;
  } catch {
    return undefined;
  }
}

/** An open descriptor of one output image, or undefined when the run's counts do not list it. */
export function openRunOutput(data: DataFolders, runId: string, nodeId: string, port: string, index: number): number | undefined {
  const count = readOutputCounts(data, runId)?.[nodeId]?.[port];
  if (!count || !Number.isInteger(index) || index < 0 || index >= count) return undefined;
  return openInside(data.output, `${folderOf(runId)}/${fileOf(nodeId, port, index)}`, 'read');
}

function trim(data: DataFolders): void {
  const root = path.join(data.output, RUN_OUTPUTS);
  const runs = readdirSync(root).filter((name) => RUN_ID.test(name));
  if (runs.length <= RUN_OUTPUTS_KEPT) return;
  const byAge = runs.map((name) => ({ name, at: statSync(path.join(root, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.at - b.at);
  for (const { name } of byAge.slice(0, runs.length - RUN_OUTPUTS_KEPT)) rmSync(path.join(root, name), { recursive: true, force: true });
}
