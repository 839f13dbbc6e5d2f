// vitest globalSetup: the run gets its own temp folder (TMPDIR, inherited by test workers and the processes
// they start), and fails at the end if a test left a facechain-* entry there: tests remove what they write.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const runTmp = mkdtempSync(path.join(os.tmpdir(), 'facechain-vitest-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runTmp;
  return () => {
    const left = readdirSync(runTmp).filter((name) => name.startsWith('facechain-') && !name.startsWith('facechain-shared-'));
    rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (!left.length) return;
    // An error in teardown is printed but does not change vitest's exit code on its own.
    process.exitCode = 1;
    throw new Error(`Tests left ${left.length} temp entries (use tempDir() from test/helpers/temp.ts): ${left.join(', ')}`);
  };
}
