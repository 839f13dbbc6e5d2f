import { existsSync, readdirSync } from 'node:fs';
import { Router } from 'express';
import { at, type ComponentSaved, LibraryEntrySchema, type LibraryItem, LibrarySaveSchema, nextEntry, type LibraryEntry } from '../../protocol/index.ts';
import { readInsideSync, writeInside } from '../../runtime/safe-open.ts';
import type { ServerContext } from '../context.ts';
import { clientMessage, HttpError } from '../http-error.ts';

const COMPONENT_ID = /^[A-Za-z0-9_-]{1,100}$/;

function componentId(raw: string): string {
  if (!COMPONENT_ID.test(raw)) throw new HttpError(400, 'Component id: letters, digits, _ and - only (at most 100)');
  return raw;
}

/** A library file, read through the data folder's check; `problem` says why it cannot be used. */
function readEntry(dir: string, id: string): { entry?: LibraryEntry; problem?: string } | undefined {
  let text: string;
  try {
    text = readInsideSync(dir, `${id}.json`).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { problem: clientMessage(e) };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { problem: `not valid JSON: ${(e as Error).message}` };
  }
  const parsed = LibraryEntrySchema.safeParse(doc);
  if (!parsed.success) {
    const issue = at(parsed.error.issues, 0, 'issue');
    return { problem: `not a component file: ${issue.path.join('.') || 'document'}: ${issue.message}` };
  }
  if (parsed.data.id !== id) return { problem: `its id "${parsed.data.id}" is not its file name` };
  return { entry: parsed.data };
}

/** The component library in data/components/: list, read, and save (each save is the next version). */
export function componentRoutes(ctx: ServerContext): Router {
  const r = Router();
  const dir = ctx.data.components;
  r.get('/components', (_req, res) => {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json') && COMPONENT_ID.test(f.slice(0, -5))) : [];
    res.json(
      files
        .map((f) => {
          const id = f.slice(0, -5);
          const found = readEntry(dir, id);
          const c = found?.entry?.component;
          return c ? { id, name: c.name, version: found!.entry!.version, ...(c.description ? { description: c.description } : {}) } : { id, problem: found?.problem ?? 'gone' };
        })
        .sort((a, b) => a.id.localeCompare(b.id)) satisfies LibraryItem[],
    );
  });
  r.get('/components/:id', (req, res) => {
    const id = componentId(req.params.id);
    const found = readEntry(dir, id);
    if (!found) throw new HttpError(404, `No component "${id}" in the library`);
    if (!found.entry) throw new HttpError(422, `The library component "${id}" cannot be opened: ${found.problem}`);
    res.json(found.entry satisfies LibraryEntry);
  });
  r.put('/components/:id', async (req, res) => {
    const id = componentId(req.params.id);
    const body = LibrarySaveSchema.safeParse(req.body);
    if (!body.success) {
      const issue = at(body.error.issues, 0, 'issue');
      throw new HttpError(400, `Not a component: ${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const previous = readEntry(dir, id);
    if (previous && !previous.entry) throw new HttpError(409, `The library component "${id}" cannot be opened, so it is not replaced: ${previous.problem}`);
    const entry = nextEntry(id, previous?.entry, body.data);
    await writeInside(dir, `${id}.json`, `${JSON.stringify(entry, null, 2)}\n`);
    res.json({ id, version: entry.version } satisfies ComponentSaved);
  });
  return r;
}
