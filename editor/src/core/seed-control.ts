// What a seed does after each run, as ComfyUI users know it ("control after generate"): stay, go up by
// one, or take a new random value. Kept in the graph's meta so a shared graph keeps its choices; the
// server ignores it.
import { z } from 'zod';
import type { Graph } from '../../../protocol/index.ts';
import type { CatalogIndex } from './catalog-index.ts';
import { randomSeed } from './form-model.ts';
import { setParam } from './graph-edit.ts';

export const SeedControlSchema = z.enum(['fixed', 'increment', 'randomize']);
export type SeedControl = z.infer<typeof SeedControlSchema>;

const META_KEY = 'seedControl';
const ControlsSchema = z.record(z.string(), SeedControlSchema);
const slot = (nodeId: string, key: string) => `${nodeId}.${key}`;

function controls(graph: Graph): Record<string, SeedControl> {
  const parsed = ControlsSchema.safeParse(graph.meta?.[META_KEY]);
  return parsed.success ? parsed.data : {};
}

export function seedControlOf(graph: Graph, nodeId: string, key: string): SeedControl {
  return controls(graph)[slot(nodeId, key)] ?? 'fixed';
}

/** Sets one seed's control in a graph draft ('fixed' removes the entry, so plain graphs stay plain). */
export function setSeedControl(draft: Graph, nodeId: string, key: string, control: SeedControl): void {
  const next = { ...controls(draft) };
  if (control === 'fixed') delete next[slot(nodeId, key)];
  else next[slot(nodeId, key)] = control;
  const meta = { ...draft.meta };
  if (Object.keys(next).length) meta[META_KEY] = next;
  else delete meta[META_KEY];
  if (Object.keys(meta).length) draft.meta = meta;
  else delete draft.meta;
}

/** Moves every controlled seed of a graph draft on, as after a run; returns how many changed. */
export function advanceSeeds(draft: Graph, catalog: CatalogIndex, random: () => number = Math.random): number {
  const wanted = controls(draft);
  let changed = 0;
  for (const node of draft.nodes) {
    for (const field of catalog.fields(node.type)) {
      if (field.kind !== 'seed') continue;
      const control = wanted[slot(node.id, field.key)];
      if (!control || control === 'fixed') continue;
      const current = typeof node.params[field.key] === 'number' ? (node.params[field.key] as number) : Number(field.default ?? 0);
      setParam(draft, node.id, field.key, control === 'increment' ? (current + 1) % (field.max + 1) : randomSeed(field.max, random));
      changed++;
    }
  }
  return changed;
}
