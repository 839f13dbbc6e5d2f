import { readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { GRAPH_FORMAT, graphJsonSchema, GraphSchema, migrate } from '../../runtime/graph-format.ts';
import { fileChecks } from '../../runtime/file-checks.ts';
import { checkGraph } from '../../runtime/validate.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../http-error.ts';

const GRAPH_ID = /^[A-Za-z0-9_-]{1,100}$/;

function graphId(raw: string): string {
  if (!GRAPH_ID.test(raw)) throw new HttpError(400, 'Graph id: letters, digits, _ and - only (at most 100)');
  return raw;
}

function listGraphs(dir: string) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && GRAPH_ID.test(f.slice(0, -5)))
    .flatMap((f) => {
      const file = path.join(dir, f);
      let doc;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        // A broken file is still listed; opening it gives the parse error.
      }
      // Other JSON beside the graphs (graphs/schema.json) is not a graph.
      if (doc !== undefined && doc?.format !== GRAPH_FORMAT) return [];
      const id = f.slice(0, -5);
      const about = typeof doc?.meta?.about === 'string' ? (doc.meta.about as string) : undefined;
      const order = typeof doc?.meta?.order === 'number' ? (doc.meta.order as number) : Infinity;
      return [{ id, name: typeof doc?.name === 'string' ? (doc.name as string) : id, about, order, updated: statSync(file).mtimeMs }];
    })
    // meta.order puts a graph first (the editor opens the first example); then by id.
    .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
    .map(({ order: _, ...g }) => g);
}

export function graphRoutes(ctx: ServerContext): Router {
  const r = Router();
  r.get('/schema/graph', (_req, res) => void res.json(graphJsonSchema()));
  r.get('/nodes', (_req, res) => void res.json(ctx.registry.catalog()));
  r.post('/validate', (req, res) => {
    const result = checkGraph(req.body, ctx.registry, { checkNode: fileChecks(ctx.data) });
    res.json(result.ok ? { ok: true, problems: [] } : { ok: false, problems: result.problems });
  });
  r.get('/graphs', (_req, res) => {
    res.json({
      examples: listGraphs(ctx.examplesDir).map(({ id, name, about }) => ({ id, name, ...(about ? { about } : {}) })),
      user: listGraphs(ctx.data.graphs),
    });
  });
  r.get('/graphs/examples/:id', (req, res) => {
    const file = path.join(ctx.examplesDir, `${graphId(req.params.id)}.json`);
    if (!existsSync(file)) throw new HttpError(404, `No example graph "${req.params.id}"`);
    res.type('json').send(readFileSync(file, 'utf8'));
  });
  r.get('/graphs/user/:id', (req, res) => {
    const file = path.join(ctx.data.graphs, `${graphId(req.params.id)}.json`);
    if (!existsSync(file)) throw new HttpError(404, `No saved graph "${req.params.id}"`);
    res.type('json').send(readFileSync(file, 'utf8'));
  });
  r.put('/graphs/user/:id', (req, res) => {
    const id = graphId(req.params.id);
    let doc;
    try {
      doc = GraphSchema.parse(migrate(req.body));
    } catch (e) {
      throw new HttpError(400, `Not a valid graph document: ${(e as Error).message}`);
    }
    const file = path.join(ctx.data.graphs, `${id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 2));
    renameSync(`${file}.tmp`, file);
    res.json({ id, name: doc.name });
  });
  r.delete('/graphs/user/:id', (req, res) => {
    rmSync(path.join(ctx.data.graphs, `${graphId(req.params.id)}.json`), { force: true });
    res.json({ ok: true });
  });
  return r;
}
