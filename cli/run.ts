import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createRegistry } from '../nodes/index.ts';
import { openDataFolders } from '../runtime/data-folder.ts';
import type { RunEvent } from '../protocol/index.ts';
import { Executor } from '../runtime/executor.ts';
import { ensureSampleInputs } from '../runtime/sample-inputs.ts';
import { formatProblem } from '../runtime/validate.ts';
import { runSweep } from '../runtime/sweep/driver.ts';
import { sweepOf } from '../runtime/sweep/plan.ts';
import { sweepCellLine } from '../protocol/index.ts';
import { applyOverrides, readGraphFile } from './graph-file.ts';
import { runMemoryBytes } from './serve.ts';
import { threadsFlag } from './threads-flag.ts';
import { configureSdMemory } from '../models/sd/fp16.ts';
import { configureThreads } from '../models/session/threads.ts';

interface RunFlags {
  set?: string[];
  out?: string;
  data?: string;
  quiet?: boolean;
  'run-memory-mb'?: string;
  threads?: string;
  'sd-memory'?: string;
}

/** `facechain run`: executes a graph headless; files go to --out (default data/output). */
export async function runCommand(file: string | undefined, flags: RunFlags): Promise<number> {
  const graph = applyOverrides(readGraphFile(file), flags.set ?? []);
  configureThreads({ threads: threadsFlag(flags.threads) });
  configureSdMemory(flags['sd-memory']);
  const base = openDataFolders(flags.data);
  await ensureSampleInputs(base);
  const data = flags.out ? { ...base, output: path.resolve(flags.out) } : base;
  mkdirSync(data.output, { recursive: true });
  const registry = createRegistry();
  const executor = new Executor({ registry, data, memoryBudget: runMemoryBytes(flags['run-memory-mb']) });
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ncancelling...\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const lastShown = new Map<string, number>();
  const print = (line: string) => flags.quiet || process.stderr.write(`${line}\n`);
  const sweep = sweepOf(graph);
  const options = {
    signal: controller.signal,
    onEvent: (e: RunEvent) => {
      if (e.type === 'node.progress') {
        const step = Math.floor(e.fraction * 10);
        if (lastShown.get(e.nodeId) === step) return;
        lastShown.set(e.nodeId, step);
        print(`  ${e.nodeId.padEnd(20)} ${String(Math.round(e.fraction * 100)).padStart(3)}% ${e.message ?? ''}`);
      } else if (e.type === 'node.started') print(`> ${e.nodeId} (${e.nodeType})`);
      else if (e.type === 'node.cached') print(`= ${e.nodeId} (cached)`);
      else if (e.type === 'node.finished') print(`  ${e.nodeId.padEnd(20)} done in ${e.durationMs.toFixed(0)} ms`);
      else if (e.type === 'node.error') print(`! ${e.nodeId} (${e.nodeType}): ${e.message}`);
      else if (e.type === 'node.skipped') print(`- ${e.nodeId}: ${e.reason}`);
      else if (e.type === 'log') print(`  ${e.nodeId ?? ''} ${e.level}: ${e.message}`);
      else if (e.type === 'sweep.cell') print(`# cell ${e.done}/${e.total} ${sweepCellLine(e.labels, e.row)}`);
    },
  };
  const result = sweep === undefined ? await executor.run(graph, options) : await runSweep(graph, sweep, { ...options, executor, registry, data });
  process.off('SIGINT', onSigint);
  if (result.problems.length) {
    process.stderr.write(`${file}: ${result.problems.length} problem(s)\n${result.problems.map(formatProblem).join('\n')}\n`);
    return 1;
  }
  process.stderr.write(`${result.status} in ${(result.durationMs / 1000).toFixed(2)} s; outputs in ${data.output}\n`);
  return result.status === 'finished' ? 0 : 1;
}
