import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { Router } from 'express';
import { encodePng } from '../../runtime/image-io.ts';
import { type RunEvent, isActive, type RunView, fullLog, newestFirst, runSummary, RunSubmitSchema, type LogLine, type Ok, type RunDetail, type RunStarted, type RunSummary } from '../../protocol/index.ts';
import { GraphValidationError } from '../../runtime/validate.ts';
import { imageCounts, imagesIn } from '../../runtime/values.ts';
import { openInside } from '../../runtime/safe-open.ts';
import { sweepFolder } from '../../runtime/sweep/driver.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import { storedView } from '../run-history.ts';
import { type Accepted, type LiveRun, SAVED_FILES_NOTE } from '../queue/engine.ts';
import type { RunOutputs } from '../queue/worker-outputs.ts';

const OUTPUT_FILE = /^[A-Za-z0-9_-]{1,200}\.png$/;
const SWEEP_FILE = /^(cell-\d+-\d+-\d+-s\d+\.png|grid\.png|scores\.png|results\.(json|csv)|summary\.csv)$/;

/** A run as the endpoints see it: live in the queue (with its outputs while kept), or read back from the history. */
interface FoundRun {
  graphName: string;
  state: RunView;
  events: RunEvent[];
  /** The graph document that ran (absent from records written before it was kept). */
  graph?: unknown;
  live?: LiveRun;
  /** A run a worker executed: that worker keeps its outputs (also told by the record after a restart). */
  keptBy?: RunOutputs;
  /** Set when an earlier process stopped while the run was queued or running. */
  interrupted?: RunSummary['interrupted'];
}

/** Images per port of a node's outputs: held in this process, or counted by the worker that keeps them. */
function imagesOf({ live, keptBy }: FoundRun, nodeId: string): Record<string, number> | undefined {
  const outputs = live?.result?.outputs.get(nodeId);
  if (outputs) return imageCounts(outputs);
  const kept = keptBy?.images;
  return kept && Object.hasOwn(kept, nodeId) ? kept[nodeId] : undefined;
}

/** A graph the engine refuses is the client's error, with every problem listed. */
async function accepted(submitted: Promise<Accepted>): Promise<Accepted> {
  try {
    return await submitted;
  } catch (e) {
    if (e instanceof GraphValidationError) throw new HttpError(400, e.message, e.problems);
    throw e;
  }
}

export function runRoutes(ctx: ServerContext): Router {
  const r = Router();
  const find = (runId: string): FoundRun => {
    const live = ctx.queue.get(runId);
    if (live) return { graphName: live.graphName, state: live.state, events: live.events, graph: live.graph, live, keptBy: live.keptBy };
    const stored = ctx.history.read(runId);
    if (stored) return { graphName: stored.summary.graphName, state: storedView(stored), events: stored.events, graph: stored.graph, keptBy: stored.outputs, interrupted: stored.summary.interrupted };
    throw new HttpError(404, `No run "${runId}"`);
  };
  r.post('/runs', async (req, res) => {
    const body = RunSubmitSchema.safeParse(req.body);
    if (!body.success) throw new HttpError(400, 'Body must be { graph, targets? }');
    // Answered once the run is stored: an accepted run survives a kill from here on.
    res.status(202).json((await accepted(ctx.queue.submit(body.data.graph, body.data.targets))) satisfies RunStarted);
  });
  r.post('/runs/:runId/requeue', async (req, res) => {
    find(req.params.runId);
    res.status(202).json((await accepted(ctx.queue.requeue(req.params.runId))) satisfies RunStarted);
  });
  r.get('/runs', (_req, res) => {
    const live = ctx.queue.list().map((r) => runSummary(r.state, r.graphName, r.events));
    const liveIds = new Set(live.map((r) => r.runId));
    const older = ctx.history.summaries().filter((r) => !liveIds.has(r.runId));
    res.json([...live, ...older].sort(newestFirst) satisfies RunSummary[]);
  });
  r.get('/runs/:runId', (req, res) => {
    const run = find(req.params.runId);
    const nodes = Object.fromEntries(Object.entries(run.state.nodes).map(([id, n]) => [id, { ...n, images: imagesOf(run, id) }]));
    res.json({ ...runSummary(run.state, run.graphName, run.events), interrupted: run.interrupted, nodes, logs: run.state.logs } satisfies RunDetail);
  });
  r.get('/runs/:runId/events', (req, res) => void res.json(find(req.params.runId).events satisfies RunEvent[]));
  r.get('/runs/:runId/log', (req, res) => void res.json(fullLog(find(req.params.runId).events) satisfies LogLine[]));
  r.get('/runs/:runId/graph', (req, res) => {
    const { graph } = find(req.params.runId);
    if (graph === undefined) throw new HttpError(404, `Run "${req.params.runId}" was saved without its graph`);
    res.json(graph);
  });
  r.post('/runs/:runId/cancel', async (req, res) => {
    find(req.params.runId);
    res.json({ ok: await ctx.queue.cancel(req.params.runId) } satisfies Ok);
  });
  r.get('/runs/:runId/outputs/:nodeId/:port/:index', async (req, res) => {
    const { runId, nodeId, port, index } = req.params;
    const found = find(runId);
    if (isActive(found.state)) throw new HttpError(409, `Run "${runId}" has not ended yet: its outputs are served once it has`);
    const { live, keptBy } = found;
    const at = `${nodeId}.${port}[${index}]`;
    if (keptBy && ctx.queue.outputPng) {
      // A run a worker executed: that worker keeps its outputs and is asked for this one.
      const i = Number(index);
      if (!(Number.isInteger(i) && i >= 0 && i < (imagesOf(found, nodeId)?.[port] ?? 0))) throw new HttpError(404, `No image at ${at} in run "${runId}"`);
      res.type('image/png').send(await ctx.queue.outputPng(runId, keptBy, nodeId, port, i));
      return;
    }
    if (!live) throw new HttpError(410, `Run "${runId}" is no longer held in memory (it ran in an earlier server process, or many runs ago): its outputs are gone (${SAVED_FILES_NOTE})`);
    if (!live.result) throw new HttpError(410, `The outputs of run "${runId}" were dropped from memory: only the last runs' outputs are kept (${SAVED_FILES_NOTE})`);
    const outputs = live.result.outputs.get(nodeId);
    if (!outputs) throw new HttpError(404, `Node "${nodeId}" has no outputs in run "${runId}" (it did not run, failed or was skipped)`);
    const image = Object.hasOwn(outputs, port) ? imagesIn(outputs[port])[Number(index)] : undefined;
    if (!image) throw new HttpError(404, `No image at ${at}`);
    res.type('image/png').send(await encodePng(image));
  });
  // A sweep's folder (runtime/sweep/driver.ts): cell images, grid, score plot and tables.
  r.get('/sweeps/:name/:file', (req, res) => {
    const { name, file } = req.params;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name) || !SWEEP_FILE.test(file)) throw new HttpError(400, 'Sweep files are cell-X-Y-Z-sN.png, grid.png, scores.png, results.json, results.csv or summary.csv');
    let fd: number;
    try {
      fd = openInside(ctx.data.output, `${sweepFolder(name)}/${file}`, 'read');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, `No file "${file}" in sweep "${name}"`);
      throw e;
    }
    res.type(path.extname(file));
    pipeline(createReadStream('', { fd }), res, () => undefined);
  });
  r.get('/files/:id', (req, res) => {
    if (!OUTPUT_FILE.test(req.params.id)) throw new HttpError(400, 'File ids are plain names like prefix-1234abcd-node-000.png');
    let fd: number;
    try {
      fd = openInside(ctx.data.output, req.params.id, 'read');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, `No output file "${req.params.id}"`);
      throw e;
    }
    res.type('image/png');
    // pipeline closes the file when the client goes away early.
    pipeline(createReadStream('', { fd }), res, () => undefined);
  });
  return r;
}
