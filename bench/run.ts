// `npm run bench [name ...]`: runs every bench/*.ts script (or the named ones) one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
// Scripts whose first line is `// bench: opt-in` (long or heavy) run only when named.
const optIn = (f: string) => readFileSync(path.join(dir, f), 'utf8').startsWith('// bench: opt-in');
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'sd15-synthetic.ts')
  .filter((f) => (wanted.length ? wanted.some((w) => f.includes(w)) : !optIn(f)))
  .sort();
let failed = 0;
for (const f of scripts) {
  process.stdout.write(`\n## ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
