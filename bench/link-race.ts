// A link swapped while a file is opened: another process flips `input/flip` between a folder inside and
// one outside the data folder while we read `flip/x.jpg` 20,000 times, by checking the path then opening
// it (safeJoin + readFile, what the code did before) and through runtime/safe-open.ts, which checks the
// opened file. Goal: 0 reads of the outside file through safe-open.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { safeJoin } from '../runtime/data-folder.ts';
import { readInsideSync } from '../runtime/safe-open.ts';

const N = 20_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fc-bench-race-'));
const base = path.join(root, 'input');
const outside = path.join(root, 'outside');
fs.mkdirSync(path.join(base, 'good'), { recursive: true });
fs.mkdirSync(outside);
fs.writeFileSync(path.join(base, 'good', 'x.jpg'), 'inside');
fs.writeFileSync(path.join(outside, 'x.jpg'), 'OUTSIDE');
fs.symlinkSync('good', path.join(base, 'flip'));
// mv -T renames over the link in one step: `flip` always exists, pointing one way or the other.
const swapper = spawn('sh', ['-c', `cd '${base}' && while :; do ln -s '${outside}' a && mv -T a flip; ln -s good b && mv -T b flip; done`], { stdio: 'ignore' });
const count = { checkThenOpen: 0, safeOpen: 0, safeOpenRefused: 0 };
try {
  for (let i = 0; i < N; i++) {
    try {
      if (fs.readFileSync(safeJoin(base, 'flip/x.jpg'), 'utf8') === 'OUTSIDE') count.checkThenOpen++;
    } catch {
      // Refused by the check: fine.
    }
    try {
      if (readInsideSync(base, 'flip/x.jpg').toString() === 'OUTSIDE') count.safeOpen++;
    } catch {
      count.safeOpenRefused++;
    }
  }
} finally {
  swapper.kill();
  fs.rmSync(root, { recursive: true, force: true });
}
console.log(`${N} reads while a link flips: outside file read ${count.checkThenOpen}x by check-then-open, ${count.safeOpen}x by safe-open (${count.safeOpenRefused} refused)`);
process.exitCode = count.safeOpen ? 1 : 0;
