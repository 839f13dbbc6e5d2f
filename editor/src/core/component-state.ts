import type { NodeRun } from '../../../protocol/index.ts';
import type { GroupedProblems, NodeProblems } from './problems.ts';

/** What a component instance shows of a run: the state of the flat nodes inside it (`path/...`), summed up. */
export function instanceRun(nodes: Record<string, NodeRun> | undefined, path: string): NodeRun | undefined {
  const inner = Object.entries(nodes ?? {}).filter(([id]) => id.startsWith(`${path}/`)).map(([, n]) => n);
  if (!inner.length) return undefined;
  const failed = inner.find((n) => n.state === 'error');
  if (failed) return { state: 'error', error: failed.error };
  const finished = inner.filter((n) => n.state === 'done' || n.state === 'cached');
  if (finished.length === inner.length) {
    const executed = inner.filter((n) => n.state === 'done');
    return executed.length ? { state: 'done', durationMs: executed.reduce((t, n) => t + (n.durationMs ?? 0), 0) } : { state: 'cached' };
  }
  if (inner.every((n) => n.state === 'skipped' || n.state === 'queued')) return { state: inner.some((n) => n.state === 'queued') ? 'queued' : 'skipped' };
  const running = inner.find((n) => n.state === 'running');
  return { state: 'running', fraction: finished.length / inner.length, message: running?.message };
}

/** Problems of the flat nodes inside an instance, listed on the instance with the inner path they name. */
export function instanceProblems(grouped: GroupedProblems, path: string): NodeProblems | undefined {
  const own = grouped.nodes[path];
  const general = Object.entries(grouped.nodes)
    .filter(([id]) => id.startsWith(`${path}/`))
    .flatMap(([id, p]) => [
      ...p.general.map((m) => `${id.slice(path.length + 1)}: ${m}`),
      ...Object.entries(p.params).flatMap(([k, list]) => list.map((m) => `${id.slice(path.length + 1)}.${k}: ${m}`)),
      ...Object.entries(p.inputs).flatMap(([k, list]) => list.map((m) => `${id.slice(path.length + 1)} input ${k}: ${m}`)),
    ]);
  if (!own && !general.length) return undefined;
  return { general: [...(own?.general ?? []), ...general], params: own?.params ?? {}, inputs: own?.inputs ?? {} };
}

/**
 * The flat node whose images an instance shows: the one inside it with the run's latest preview (preview
 * ids grow through a run), else, after a reload (previews are not kept), the last with full-size outputs.
 */
export function instanceImageNode(
  previews: Readonly<Record<string, { runId: string; previewId: number }>>,
  outputs: Readonly<Record<string, unknown>>,
  path: string,
): string | undefined {
  let best: string | undefined;
  for (const [id, p] of Object.entries(previews)) {
    if (!id.startsWith(`${path}/`)) continue;
    const b = best === undefined ? undefined : previews[best];
    if (!b || p.runId !== b.runId || p.previewId > b.previewId) best = id;
  }
  return best ?? Object.keys(outputs).findLast((id) => id.startsWith(`${path}/`));
}
