// The layer rules in biome.json, checked by linting small files placed in a copy of the layout: an
// upward import or a cycle must fail the lint step of `npm test`, a downward one must pass.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

/** Lints `files` (path -> source) laid out in a fresh folder under the repo's biome.json. */
function lint(files: Record<string, string>): { ok: boolean; output: string } {
  const dir = tempDir('lint');
  const config = JSON.parse(readFileSync(path.join(ROOT, 'biome.json'), 'utf8'));
  delete config.$schema;
  delete config.vcs; // the copy is no git checkout
  writeFileSync(path.join(dir, 'biome.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  const r = spawnSync(BIOME, ['lint', '--colors=off', '--max-diagnostics=50', '.'], { cwd: dir, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const upward: [string, string, string][] = [
  ['runtime/x.ts', "import { SdModel } from '../models/sd/sd-model.ts';", 'runtime/ sits below models/'],
  ['runtime/x.ts', "import { registry } from '../nodes/index.ts';", 'runtime/ sits below'],
  ['protocol/x.ts', "import { Executor } from '../runtime/executor.ts';", 'protocol/ is the browser-safe contract'],
  ['protocol/x.ts', "import { readFileSync } from 'node:fs';", 'protocol/ is the browser-safe contract'],
  ['models/sd/x.ts', "import { sampler } from '../../nodes/sd/sampler.ts';", 'models/ sits below'],
  ['models/onnx/grad/x.ts', "import { createSession } from '../../session/providers.ts';", 'models/onnx/ is a pure graph toolkit'],
  ['nodes/sd/x.ts', "import { createApp } from '../../server/app.ts';", 'nodes/ sits below'],
  ['server/x.ts', "import { main } from '../cli/main.ts';", 'server/ does not import cli/'],
  ['editor/src/core/x.ts', "import { Executor } from '../../../runtime/executor.ts';", 'editor/ imports protocol/index.ts'],
  ['editor/src/ui/x.ts', "import { GraphSchema } from '../../../protocol/graph-format.ts';", 'editor/ imports protocol/index.ts'],
];

describe('layer boundaries (biome.json)', () => {
  it.each(upward)('%s: refuses %s', (file, line, message) => {
    const r = lint({ [file]: `${line}\nexport const used = [${line.match(/\{ (\w+) \}/)?.[1]}];\n` });
    expect(r.ok, r.output).toBe(false);
    expect(r.output).toContain('noRestrictedImports');
    expect(r.output).toContain(message);
  });

  it('accepts the downward imports the layers allow', () => {
    const r = lint({
      'protocol/x.ts': "import { z } from 'zod';\nimport { PORT_TYPES } from './ports.ts';\nexport const a = [z, PORT_TYPES];\n",
      'runtime/x.ts': "import { GraphSchema } from '../protocol/index.ts';\nexport const a = GraphSchema;\n",
      'models/train/x.ts': "import { createSession } from '../session/providers.ts';\nimport { Executor } from '../../runtime/executor.ts';\nexport const a = [createSession, Executor];\n",
      'nodes/sd/x.ts': "import { SdModel } from '../../models/sd/sd-model.ts';\nexport const a = SdModel;\n",
      'server/x.ts': "import { registry } from '../nodes/index.ts';\nexport const a = registry;\n",
      'cli/x.ts': "import { createApp } from '../server/app.ts';\nexport const a = createApp;\n",
      'editor/src/ui/x.tsx': "import { GraphSchema } from '../../../protocol/index.ts';\nimport { api } from '../core/api.ts';\nexport const a = [GraphSchema, api];\n",
    });
    expect(r.ok, r.output).toBe(true);
  });

  it('refuses an import cycle', () => {
    const r = lint({
      'runtime/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'runtime/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    expect(r.ok, r.output).toBe(false);
    expect(r.output).toContain('noImportCycles');
  });

  it('passes on the repository as it is', () => {
    const r = spawnSync(BIOME, ['lint', '--colors=off'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
