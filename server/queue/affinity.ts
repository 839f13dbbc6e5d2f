// Cache affinity (issue 14): a run goes preferably to the worker whose output cache holds the results of
// its upstream nodes. Workers cannot share their caches' keys with a server as such (a node's real key
// includes its fingerprint, e.g. the paths and times of the files it reads on that machine), so both
// sides use the key without it: the node's type, version, params and the keys of what feeds it. A worker
// records, after each run, which of these keys its cache now holds; a server looks the graph's keys up.
import { cacheKey } from '../../runtime/cache-key.ts';
import { planNodes } from '../../runtime/plan.ts';
import type { CheckedGraph } from '../../runtime/validate.ts';
import type { RunView } from '../../protocol/index.ts';
import type { WorkerInfo } from './redis-stream.ts';

/** `facechain:held:<key>` names the worker that last kept that node result in its cache. */
export const heldKey = (key: string) => `facechain:held:${key}`;
/** How long such a note lasts after its last run: caches are in memory and forget (LRU, restarts). */
export const HELD_TTL_S = 6 * 3600;

/** The affinity keys of the cacheable nodes a run computes, by node id, in dependency order. */
export function affinityKeys(checked: CheckedGraph): Map<string, string> {
  const all = new Map<string, string>();
  const keys = new Map<string, string>();
  for (const id of planNodes(checked, checked.targets)) {
    const def = checked.defs.get(id)!;
    const inputs: [string, string, string][] = [...(checked.incoming.get(id) ?? new Map())].map(([port, c]) => [port, all.get(c.from.node)!, c.from.port]);
    const key = cacheKey(def, checked.params.get(id)!, inputs.sort());
    all.set(id, key);
    if (def.cacheable !== false) keys.set(id, key);
  }
  return keys;
}

/**
 * The worker holding the most of a run's node results, among `candidates` (live, with the run's models,
 * not busy), given who holds each key; undefined when none holds any.
 */
export function preferredWorker(holders: (string | null)[], candidates: Set<string>): string | undefined {
  const score = new Map<string, number>();
  for (const name of holders) if (name && candidates.has(name)) score.set(name, (score.get(name) ?? 0) + 1);
  return [...score].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * How many runs each worker holds: sent to its queue and not started yet, or going on it. A going run
 * counts while the worker's last heartbeat lists it or it started after that heartbeat (both times are
 * the worker's clock), so a run whose end never reached the stream does not keep its worker busy.
 */
export function runsHeld(runs: Iterable<{ worker: string; state: RunView | undefined }>, workers: WorkerInfo[]): Map<string, number> {
  const info = new Map(workers.map((w) => [w.name, w]));
  const held = new Map<string, number>();
  for (const { worker, state } of runs) {
    const w = info.get(worker);
    if (w?.running && state?.status === 'running' && !w.running.includes(state.runId) && (state.startedAt ?? 0) < w.seen) continue;
    held.set(worker, (held.get(worker) ?? 0) + 1);
  }
  return held;
}
