import { existsSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import { encodePng } from '../../runtime/image-io.ts';
import { GraphValidationError } from '../../runtime/validate.ts';
import { isImage } from '../../runtime/values.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import type { RunRecord } from '../run-queue.ts';

const SubmitSchema = z.object({ graph: z.unknown(), targets: z.array(z.string()).max(10_000).optional() }).strict();
const OUTPUT_FILE = /^[A-Za-z0-9_-]{1,200}\.png$/;

function summary(r: RunRecord) {
  const { runId, status, queuedAt, startedAt, finishedAt, durationMs, error, problems } = r.state;
  return { runId, graphName: r.graphName, status, queuedAt, startedAt, finishedAt, durationMs, error, problems };
}

function imageCounts(outputs: Record<string, unknown> | undefined): Record<string, number> | undefined {
  if (!outputs) return undefined;
  const counts: Record<string, number> = {};
  for (const [port, v] of Object.entries(outputs)) {
    if (isImage(v)) counts[port] = 1;
    else if (Array.isArray(v) && v.length && v.every(isImage)) counts[port] = v.length;
  }
  return counts;
}

export function runRoutes(ctx: ServerContext): Router {
  const r = Router();
  const find = (runId: string) => {
    const run = ctx.queue.get(runId);
    if (!run) throw new HttpError(404, `No run "${runId}"`);
    return run;
  };
  r.post('/runs', (req, res) => {
    const body = SubmitSchema.safeParse(req.body);
    if (!body.success) throw new HttpError(400, 'Body must be { graph, targets? }');
    try {
      const run = ctx.queue.submit(body.data.graph, body.data.targets);
      const queued = run.events[0];
      res.status(202).json({ runId: run.state.runId, position: queued?.type === 'run.queued' ? queued.position : 0 });
    } catch (e) {
      if (e instanceof GraphValidationError) throw new HttpError(400, e.message, e.problems);
      throw e;
    }
  });
  r.get('/runs', (_req, res) => void res.json(ctx.queue.list().map(summary)));
  r.get('/runs/:runId', (req, res) => {
    const run = find(req.params.runId);
    const nodes = Object.fromEntries(
      Object.entries(run.state.nodes).map(([id, n]) => [id, { ...n, images: imageCounts(run.result?.outputs.get(id)) }]),
    );
    res.json({ ...summary(run), nodes, logs: run.state.logs });
  });
  r.get('/runs/:runId/events', (req, res) => void res.json(find(req.params.runId).events));
  r.post('/runs/:runId/cancel', (req, res) => {
    find(req.params.runId);
    res.json({ ok: ctx.queue.cancel(req.params.runId) });
  });
  r.get('/runs/:runId/outputs/:nodeId/:port/:index', async (req, res) => {
    const run = find(req.params.runId);
    const outputs = run.result?.outputs.get(req.params.nodeId);
    if (!outputs) throw new HttpError(404, `Node "${req.params.nodeId}" has no outputs in this run (or they were dropped from memory)`);
    const value = outputs[req.params.port];
    const list = isImage(value) ? [value] : Array.isArray(value) ? value : [];
    const image = list[Number(req.params.index)];
    if (!isImage(image)) throw new HttpError(404, `No image at ${req.params.nodeId}.${req.params.port}[${req.params.index}]`);
    res.type('image/png').send(await encodePng(image));
  });
  r.get('/files/:id', (req, res) => {
    if (!OUTPUT_FILE.test(req.params.id)) throw new HttpError(400, 'File ids are plain names like prefix-1234abcd-node-000.png');
    const file = path.join(ctx.data.output, req.params.id);
    if (!existsSync(file)) throw new HttpError(404, `No output file "${req.params.id}"`);
    res.sendFile(file);
  });
  return r;
}
