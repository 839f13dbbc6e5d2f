// Every graph in graphs/ is one a new user can open and run: it validates against the node catalog.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import { checkGraph } from '../../runtime/validate.ts';

const dir = path.join(import.meta.dirname, '../../graphs');
const shipped = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'schema.json');

describe('shipped graphs', () => {
  it.each(shipped)('%s validates and has a name', (file) => {
    const doc = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    const r = checkGraph(doc, createRegistry());
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(doc.name).toMatch(/\w/);
  });
});
