import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';
import { at, GRAPH_FORMAT, graphJsonSchema, GraphSchema, inRawKeyOrder, migrate, type GraphList, type GraphSaved, type Ok, type ValidateAnswer } from '../../protocol/index.ts';
import { fileChecks } from '../../runtime/file-checks.ts';
import { readInsideSync, writeInside } from '../../runtime/safe-open.ts';
import { checkGraph } from '../../runtime/validate.ts';
import type { ServerContext } from '../context.ts';
import { clientMessage, HttpError } from '../http-error.ts';

const GRAPH_ID = /^[A-Za-z0-9_-]{1,100}$/;

function graphId(raw: string): string {
  if (!GRAPH_ID.test(raw)) throw new HttpError(400, 'Graph id: letters, digits, _ and - only (at most 100)');
  return raw;
}

/** The first problem of a graph document, in one line (zod's whole list is for the validate endpoint). */
function documentProblem(doc: unknown): string | undefined {
  try {
    const parsed = GraphSchema.safeParse(migrate(doc));
    if (parsed.success) return undefined;
    const issue = at(parsed.error.issues, 0, 'issue');
    return `${issue.path.join('.') || 'document'}: ${issue.message}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * A stored graph file, read through the data folder's check: its text, or why it cannot be opened (not
 * JSON, not a valid graph, a link leading out); `doc` is absent for JSON that is no graph (schema.json).
 */
function readGraph(dir: string, id: string): { text: string; doc: unknown; problem?: string } | undefined {
  let text: string;
  try {
    text = readInsideSync(dir, `${id}.json`).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { text: '', doc: undefined, problem: clientMessage(e) };
  }
  let doc: { format?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { text, doc: undefined, problem: `not valid JSON: ${(e as Error).message}` };
  }
  if (doc?.format !== GRAPH_FORMAT) return { text, doc: undefined };
  const problem = documentProblem(doc);
  return { text, doc, problem: problem && `not a valid graph document: ${problem}` };
}

/** The graphs of a folder; a file that cannot be opened is listed with its `problem`. */
export function listGraphs(dir: string) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && GRAPH_ID.test(f.slice(0, -5)))
    .flatMap((f) => {
      const id = f.slice(0, -5);
      const found = readGraph(dir, id);
      // Other JSON beside the graphs (graphs/schema.json) is not a graph.
      if (!found || (found.doc === undefined && !found.problem)) return [];
      const doc = found.doc as { name?: unknown; meta?: { about?: unknown; order?: unknown } } | undefined;
      const about = typeof doc?.meta?.about === 'string' ? doc.meta.about : undefined;
      const order = typeof doc?.meta?.order === 'number' ? doc.meta.order : Infinity;
      const name = typeof doc?.name === 'string' ? doc.name : id;
      return [{ id, name, about, order, updated: lstatSync(path.join(dir, f)).mtimeMs, ...(found.problem ? { problem: found.problem } : {}) }];
    })
    // meta.order puts a graph first (the editor opens the first example); then by id.
    .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
    .map(({ order: _, ...g }) => g);
}

/** Says at start which saved graphs cannot be opened (they are listed with their problem too). */
export function reportBrokenGraphs(dir: string, write: (line: string) => void): void {
  for (const g of listGraphs(dir)) if (g.problem) write(`Saved graph graphs/${g.id}.json cannot be opened: ${g.problem}\n`);
}

/** Sends a stored graph as it was saved; one that cannot be opened answers 422 with why. */
function sendGraph(res: Response, dir: string, raw: string, what: string): void {
  const id = graphId(raw);
  const found = readGraph(dir, id);
  if (!found) throw new HttpError(404, `No ${what} "${id}"`);
  if (found.problem) throw new HttpError(422, `The ${what} "${id}" cannot be opened: ${found.problem}`);
  if (found.doc === undefined) throw new HttpError(422, `The ${what} "${id}" is not a FaceChain Studio graph`);
  res.type('json').send(found.text);
}

export function graphRoutes(ctx: ServerContext): Router {
  const r = Router();
  r.get('/schema/graph', (_req, res) => void res.json(graphJsonSchema()));
  r.get('/nodes', (_req, res) => void res.json(ctx.registry.catalog()));
  r.post('/validate', (req, res) => {
    const result = checkGraph(req.body, ctx.registry, { checkNode: fileChecks(ctx.data) });
    res.json((result.ok ? { ok: true, problems: [] } : { ok: false, problems: result.problems }) satisfies ValidateAnswer);
  });
  r.get('/graphs', (_req, res) => {
    res.json({
      examples: listGraphs(ctx.examplesDir).map(({ id, name, about, problem }) => ({ id, name, ...(about ? { about } : {}), ...(problem ? { problem } : {}) })),
      user: listGraphs(ctx.data.graphs),
    } satisfies GraphList);
  });
  r.get('/graphs/examples/:id', (req, res) => sendGraph(res, ctx.examplesDir, req.params.id, 'example graph'));
  r.get('/graphs/user/:id', (req, res) => sendGraph(res, ctx.data.graphs, req.params.id, 'saved graph'));
  r.put('/graphs/user/:id', async (req, res) => {
    const id = graphId(req.params.id);
    const problem = documentProblem(req.body);
    if (problem) throw new HttpError(400, `Not a valid graph document: ${problem}`);
    const migrated = migrate(req.body);
    const doc = inRawKeyOrder(migrated, GraphSchema.parse(migrated));
    await writeInside(ctx.data.graphs, `${id}.json`, JSON.stringify(doc, null, 2));
    res.json({ id, name: doc.name } satisfies GraphSaved);
  });
  r.delete('/graphs/user/:id', (req, res) => {
    rmSync(path.join(ctx.data.graphs, `${graphId(req.params.id)}.json`), { force: true });
    res.json({ ok: true } satisfies Ok);
  });
  return r;
}
