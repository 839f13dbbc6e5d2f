import os from 'node:os';
import type { DataFolders } from './data-folder.ts';
import type { Problem } from '../protocol/index.ts';
import type { AnyNodeDefinition } from './node.ts';
import type { CheckedGraph } from './validate.ts';

/** Decoded images as a run holds them: `count` rasters of at most width x height x channels bytes. */
export interface ImagesShape {
  count: number;
  width: number;
  height: number;
  channels: number;
}

/** What one output will hold in memory, worked out before the node runs. */
export interface SizeEstimate {
  bytes: number;
  images?: ImagesShape;
}

export type InputEstimates = Record<string, SizeEstimate | undefined>;

export const imagesEstimate = (images: ImagesShape): SizeEstimate => ({
  bytes: images.count * images.width * images.height * images.channels,
  images,
});

const IMAGE_PORTS = new Set(['IMAGE', 'IMAGES', 'MASK']);

/**
 * A node without its own `estimate`: an image output is as large as its largest image input (one image
 * for IMAGE and MASK), any other output as large as its largest input of the same type; else nothing.
 */
function passThrough(def: AnyNodeDefinition, inputs: InputEstimates): Record<string, SizeEstimate> {
  const out: Record<string, SizeEstimate> = {};
  for (const [port, spec] of Object.entries(def.outputs)) {
    const same = Object.entries(def.inputs)
      .filter(([name, i]) => (IMAGE_PORTS.has(spec.type) ? IMAGE_PORTS.has(i.type) : i.type === spec.type) && inputs[name])
      .map(([name]) => inputs[name]!)
      .sort((a, b) => b.bytes - a.bytes)[0];
    if (!same) out[port] = { bytes: 0 };
    else if (same.images && spec.type !== 'IMAGES') out[port] = imagesEstimate({ ...same.images, count: 1, channels: spec.type === 'MASK' ? 1 : same.images.channels });
    else out[port] = same;
  }
  return out;
}

export const formatBytes = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(0)} MB` : `${(n / 1024).toFixed(0)} KB`;

const describe = (e: SizeEstimate) =>
  e.images ? `${e.images.count} image${e.images.count === 1 ? '' : 's'} of up to ${e.images.width}x${e.images.height}x${e.images.channels} bytes, ${formatBytes(e.bytes)}` : formatBytes(e.bytes);

/** The default budget of a run: three quarters of the memory the system has free now. */
export const defaultRunBudget = () => Math.floor(os.freemem() * 0.75);

/**
 * Adds up what the planned nodes' outputs will hold (a run keeps every output until it ends) and names the
 * node that takes the run over its budget, with the figures; undefined when the run fits.
 */
export async function overBudget(checked: CheckedGraph, plan: string[], data: DataFolders, budget: number): Promise<Problem | undefined> {
  const estimates = new Map<string, Record<string, SizeEstimate>>();
  let total = 0;
  for (const id of plan) {
    const def = checked.defs.get(id)!;
    const inputs: InputEstimates = {};
    for (const [port, c] of checked.incoming.get(id) ?? []) inputs[port] = estimates.get(c.from.node)?.[c.from.port];
    let outputs: Record<string, SizeEstimate>;
    try {
      outputs = (await def.estimate?.({ data }, inputs, checked.params.get(id)!)) ?? passThrough(def, inputs);
    } catch {
      // A node that cannot be sized now (a missing file) fails when it runs, with its own message.
      outputs = passThrough(def, inputs);
    }
    estimates.set(id, outputs);
    const own = Object.values(outputs).reduce((sum, e) => sum + e.bytes, 0);
    total += own;
    if (total > budget) {
      const biggest = Object.values(outputs).sort((a, b) => b.bytes - a.bytes)[0];
      return {
        node: id,
        message:
          `Node "${id}" (${def.type}) would hold ${biggest ? describe(biggest) : formatBytes(own)}; with the nodes before it the run would need ` +
          `${formatBytes(total)} of memory, over its budget of ${formatBytes(budget)} (--run-memory-mb or FACECHAIN_RUN_MEMORY_MB)`,
      };
    }
  }
  return undefined;
}
