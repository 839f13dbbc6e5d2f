// `npm run bench [name ...]`: runs every bench/*.ts script (or the named ones) one after another. Long
// benches (OPT_IN) run only when named. Each script gets its own temp folder (TMPDIR), removed after it, so
// nothing a bench writes there (the sd15 bench's 1.7 GB of synthetic weights) stays behind.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/helpers/temp.ts';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const OPT_IN = ['soak.ts'];
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => (wanted.length ? wanted.some((w) => f.includes(w)) : !OPT_IN.includes(f)))
  .sort();
let failed = 0;
for (const f of scripts) {
  process.stdout.write(`\n## ${f}\n`);
  const tmp = tempDir('bench');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit', env: { ...process.env, TMPDIR: tmp } });
    if (r.status !== 0) failed++;
  } finally {
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}
process.exitCode = failed ? 1 : 0;
