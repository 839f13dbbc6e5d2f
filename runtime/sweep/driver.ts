// Runs a sweep: the executor once per cell and seed (its output cache makes each cell re-run only what
// the axes touch), each finished cell saved at once (image with its exact graph in PNG text, table rows),
// cells a previous run of the same sweep finished reused from its table, a labelled grid at the end,
// also when cancelled. Events are the executor's, under one run id, plus a `sweep.cell` per cell.
import { mkdirSync } from 'node:fs';
import type { DataFolders } from '../data-folder.ts';
import { safeJoin } from '../data-folder.ts';
import type { PreviewImage, Problem, RunEvent, RunListener } from '../../protocol/index.ts';
import type { Executor, RunEnd } from '../executor.ts';
import { decodeImage, encodePng } from '../image-io.ts';
import { GRAPH_PNG_KEYWORD, addPngText } from '../../protocol/index.ts';
import type { NodeRegistry } from '../registry.ts';
import { readInside, writeInside } from '../safe-open.ts';
import { GraphValidationError } from '../validate.ts';
import { isImage, type Image } from '../values.ts';
import { drawGrid } from './grid.ts';
import { planSweep, type SweepJob, type SweepPlan } from './plan.ts';
import { scorePlot } from './plot.ts';
import { cellSummaries, rowsCsv, summaryCsv, SweepTableSchema, type SweepRow, type SweepTable } from '../../protocol/index.ts';

export interface SweepOptions {
  executor: Executor;
  registry: NodeRegistry;
  data: DataFolders;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: RunListener;
}

export interface SweepResult {
  status: RunEnd;
  /** Undefined when the sweep did not validate (see problems in the run.failed event). */
  plan?: SweepPlan;
  table?: SweepTable;
  /** The sweep's folder inside the output folder. */
  folder?: string;
  /** How often each node executed / came from the cache, over all cells. */
  executed: Record<string, number>;
  cached: Record<string, number>;
  /** Rows computed by this run, and rows taken from a previous run's table. */
  computed: number;
  reused: number;
  problems: Problem[];
  durationMs: number;
}

export const sweepFolder = (name: string) => `sweeps/${name}`;

export async function runSweep(doc: unknown, spec: unknown, opts: SweepOptions): Promise<SweepResult> {
  const runId = opts.runId ?? crypto.randomUUID();
  const emit = (event: RunEvent, preview?: PreviewImage) => opts.onEvent?.(event, preview);
  const started = performance.now();
  const result: SweepResult = { status: 'finished', executed: {}, cached: {}, computed: 0, reused: 0, problems: [], durationMs: 0 };
  const end = (status: RunEnd, message?: string, problems: Problem[] = []): SweepResult => {
    const base = { runId, time: Date.now(), durationMs: performance.now() - started };
    if (status === 'finished') emit({ type: 'run.finished', ...base });
    else if (status === 'cancelled') emit({ type: 'run.cancelled', ...base });
    else emit({ type: 'run.failed', ...base, message: message ?? 'Sweep failed', problems });
    return Object.assign(result, { status, problems, durationMs: base.durationMs });
  };

  let plan: SweepPlan;
  try {
    plan = planSweep(doc, spec, opts.registry);
  } catch (e) {
    if (e instanceof GraphValidationError) return end('failed', `The sweep has ${e.problems.length} problem(s)`, e.problems);
    throw e;
  }
  const folder = sweepFolder(plan.spec.name);
  mkdirSync(safeJoin(opts.data.output, folder), { recursive: true });
  const previous = await previousRows(opts.data, folder);
  const table: SweepTable = { format: 'facechain-sweep', name: plan.spec.name, labels: plan.labels, axisValues: plan.values, rows: [] };
  Object.assign(result, { plan, table, folder });
  const images = new Map<string, Image>();
  emit({ type: 'run.started', runId, time: Date.now(), nodes: [] });
  emit({ type: 'log', runId, time: Date.now(), level: 'info', message: `Sweep "${plan.spec.name}": ${plan.jobs.length} cell run(s) into output/${folder}` });

  let status: RunEnd = 'finished';
  for (const [i, job] of plan.jobs.entries()) {
    if (opts.signal?.aborted) {
      status = 'cancelled';
      break;
    }
    const old = previous.get(job.key);
    let row: SweepRow;
    if (old) {
      row = { ...old, at: job.cell.at, values: job.cell.values, sample: job.sample, seed: job.seed };
      if (job.sample === 0) images.set(job.cell.at.join(','), await decodeImage(await readInside(opts.data.output, `${folder}/${old.image}`)));
      result.reused++;
    } else {
      const cell = await runCell(job, plan, folder, runId, opts, result);
      if (!cell) {
        status = 'cancelled';
        break;
      }
      row = cell.row;
      if (cell.image && job.sample === 0) images.set(job.cell.at.join(','), cell.image);
      result.computed++;
    }
    table.rows.push(row);
    await saveTable(opts.data, folder, table);
    emit({ type: 'sweep.cell', runId, time: Date.now(), folder, done: i + 1, total: plan.jobs.length, labels: plan.labels, row });
  }
  const summaries = cellSummaries(table.rows);
  const columns = plan.scores.map((s) => `${s.node}.${s.port}`);
  const caption = plan.spec.caption ?? [...new Set(plan.scores.map((s) => s.node))].slice(0, 2).map((n) => columns.find((c) => c.startsWith(`${n}.`))!);
  const grid = await drawGrid({ labels: plan.labels, values: plan.values, images, summaries, scores: caption });
  const embedded = JSON.stringify({ graph: doc, node: plan.image.node, sweep: plan.spec, runId });
  await writeInside(opts.data.output, `${folder}/grid.png`, addPngText(await encodePng(grid), GRAPH_PNG_KEYWORD, embedded));
  if (columns.length) await writeInside(opts.data.output, `${folder}/scores.png`, await encodePng(await scorePlot(plan.labels, plan.values, summaries, columns)));
  emit({ type: 'log', runId, time: Date.now(), level: 'info', message: `Sweep "${plan.spec.name}": ${result.computed} computed, ${result.reused} reused; grid and tables in output/${folder}` });
  return end(status);
}

/** Runs one cell; undefined when the sweep was cancelled during it. */
async function runCell(job: SweepJob, plan: SweepPlan, folder: string, runId: string, opts: SweepOptions, result: SweepResult) {
  const r = await opts.executor.run(job.graph, {
    runId,
    targets: [...new Set([plan.image.node, ...plan.scores.map((s) => s.node)])],
    signal: opts.signal,
    onEvent: (e, p) => {
      if (!e.type.startsWith('run.')) opts.onEvent?.(e, p);
    },
  });
  for (const id of r.executed) result.executed[id] = (result.executed[id] ?? 0) + 1;
  for (const id of r.cached) result.cached[id] = (result.cached[id] ?? 0) + 1;
  if (r.status === 'cancelled') return undefined;
  const row: SweepRow = { key: job.key, at: job.cell.at, values: job.cell.values, sample: job.sample, seed: job.seed, scores: {}, ms: r.durationMs };
  if (r.status === 'failed') {
    const f = r.failures[0];
    row.error = f ? `${f.node}: ${f.message}` : (r.problems[0]?.message ?? 'failed');
  }
  for (const { node, port } of plan.scores) row.scores[`${node}.${port}`] = scoreValue(r.outputs.get(node)?.[port]);
  const value = r.outputs.get(plan.image.node)?.[plan.image.port];
  const image = Array.isArray(value) ? value.find(isImage) : isImage(value) ? value : undefined;
  if (image) {
    row.image = `cell-${job.cell.at.join('-')}-s${job.sample}.png`;
    const embedded = JSON.stringify({ graph: job.graph, node: plan.image.node, runId, sweep: { name: plan.spec.name, at: job.cell.at, values: job.cell.values, seed: job.seed } });
    await writeInside(opts.data.output, `${folder}/${row.image}`, addPngText(await encodePng(image), GRAPH_PNG_KEYWORD, embedded));
  }
  return { row, image };
}

/** A score as the table keeps it: null when not a finite number (e.g. no face to score). */
const scoreValue = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Finished, error-free rows of the sweep's last table whose image is still there, by job key. */
async function previousRows(data: DataFolders, folder: string): Promise<Map<string, SweepRow>> {
  const rows = new Map<string, SweepRow>();
  const raw = await readInside(data.output, `${folder}/results.json`).catch(() => undefined);
  if (!raw) return rows;
  let parsed: SweepTable;
  try {
    parsed = SweepTableSchema.parse(JSON.parse(raw.toString('utf8')));
  } catch {
    return rows; // A damaged table only means every cell is computed again.
  }
  for (const row of parsed.rows) {
    if (row.error || !row.image) continue;
    if (await readInside(data.output, `${folder}/${row.image}`).then(() => true, () => false)) rows.set(row.key, row);
  }
  return rows;
}

async function saveTable(data: DataFolders, folder: string, table: SweepTable): Promise<void> {
  await writeInside(data.output, `${folder}/results.json`, JSON.stringify(table, null, 1));
  await writeInside(data.output, `${folder}/results.csv`, rowsCsv(table));
  await writeInside(data.output, `${folder}/summary.csv`, summaryCsv(table));
}
