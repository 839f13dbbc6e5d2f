// `npm run bench [name ...]`: runs the default benches (or the named ones, opt-in ones included) one
// after another. A bench whose header has a line `// opt-in: <why>` runs only when named: the default
// set stays within 10 minutes on 2 cores. A bench silent for 30 s gets a line saying it still runs.
// Each bench gets its own temp folder (TMPDIR), removed after it, so nothing it writes there (the sd15
// bench's 1.7 GB of synthetic weights) stays behind.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/helpers/temp.ts';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const HEARTBEAT_MS = 30_000;

/** The `// opt-in: why` line of a bench's header, if it has one. */
function optInReason(source: string): string | undefined {
  const header = source.split('\n').filter((l) => l.startsWith('//'));
  return header.map((l) => /^\/\/ opt-in: (.+)$/.exec(l)?.[1]).find(Boolean);
}

const all = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts').sort();
const named = all.filter((f) => !wanted.length || wanted.some((w) => f.includes(w)));
const optIn = new Map(named.map((f) => [f, optInReason(readFileSync(path.join(dir, f), 'utf8'))] as const));
const scripts = wanted.length ? named : named.filter((f) => !optIn.get(f));
if (wanted.length && !scripts.length) {
  console.error(`no bench matches ${wanted.join(', ')}; benches: ${all.map((f) => f.replace(/\.ts$/, '')).join(', ')}`);
  process.exit(2);
}
if (!wanted.length) {
  for (const [f, why] of optIn) if (why) console.log(`(opt-in, run with \`npm run bench -- ${f.replace(/\.ts$/, '')}\`: ${why})`);
}

function runOne(file: string): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    let last = started;
    const tmp = tempDir('bench');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, file)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    const pass = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      last = performance.now();
      to.write(chunk);
    };
    child.stdout.on('data', pass(process.stdout));
    child.stderr.on('data', pass(process.stderr));
    const beat = setInterval(() => {
      if (performance.now() - last < HEARTBEAT_MS) return;
      last = performance.now();
      console.log(`… ${file} still running (${((last - started) / 1000).toFixed(0)} s)`);
    }, 1000);
    child.on('close', (code, signal) => {
      clearInterval(beat);
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
      console.log(`## ${file}: ${code === 0 ? 'done' : `failed (${code ?? signal})`} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      resolve(code ?? 1);
    });
  });
}

let failed = 0;
for (const f of scripts) {
  process.stdout.write(`\n## ${f}\n`);
  if ((await runOne(f)) !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
