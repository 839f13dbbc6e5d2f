// The editor is type-checked without Node's types (editor/tsconfig.json, part of `npm test`), so code
// that would only run in Node fails the check instead of the browser.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

/** Type-checks one source file under the editor's compiler options. */
function check(source: string): { ok: boolean; output: string } {
  const dir = tempDir('editor-types');
  writeFileSync(path.join(dir, 'probe.ts'), source);
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: path.join(ROOT, 'editor', 'tsconfig.json'), include: [], files: ['probe.ts'] }));
  const r = spawnSync(TSC, ['--noEmit', '-p', dir], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe('editor tsconfig', () => {
  it("refuses Node's modules and globals", () => {
    const fs = check("import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n");
    expect(fs.ok).toBe(false);
    expect(fs.output).toContain("'node:fs'");
    const proc = check('export const env = process.env;\n');
    expect(proc.ok).toBe(false);
    expect(proc.output).toContain("'process'");
  });

  it('accepts browser code over the protocol', () => {
    const r = check(`import { GraphSchema } from '${path.join(ROOT, 'protocol', 'index.ts')}';\nexport const g = GraphSchema.parse(JSON.parse(localStorage.getItem('g') ?? '{}'));\n`);
    expect(r.ok, r.output).toBe(true);
  });
});
