// Debian's PyTorch for the benches that run the same step in torch beside ours.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's python, where apt's python3-torch installs (`python3` on PATH may be another one). */
export const PYTHON = '/usr/bin/python3';

/**
 * Debian's torch importable with OpenBLAS behind it, installing python3-torch and libopenblas0-pthread
 * when missing (torch alone links Debian's reference libblas, many times slower: no fair comparison).
 * Undefined when ready, else why the PyTorch side is skipped.
 */
export function ensureTorch(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const importable = () => spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  const openblas = () => spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-pthread'], { encoding: 'utf8' }).stdout === 'install ok installed';
  if (importable() && openblas()) return undefined;
  if (process.getuid?.() !== 0) return 'python3-torch or libopenblas0-pthread is not installed, and installing them needs root';
  const apt = (args: string[]) => {
    console.log(`apt-get ${args.join(' ')}`);
    return spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  };
  const install = ['install', '-y', 'python3-torch', 'libopenblas0-pthread'];
  if (!apt(install) && !(apt(['update']) && apt(install))) return 'apt-get install python3-torch libopenblas0-pthread failed';
  return importable() ? undefined : 'python3-torch installed but torch does not import';
}

