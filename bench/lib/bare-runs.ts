// The scale bench's ceiling: its CPU-bound graph run by a bare executor (no server, no queue, cache off)
// in a process of its own. Warms up with one run, says `warm`, runs the given count once a line arrives
// on stdin, says `done`.
import { once } from 'node:events';
import { createRegistry } from '../../nodes/index.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { Executor } from '../../runtime/executor.ts';
import { OutputCache } from '../../runtime/output-cache.ts';
import { ensureSampleInputs } from '../../runtime/sample-inputs.ts';
import { configureThreads } from '../../models/session/threads.ts';
import { removeTempDirs, tempDir } from '../../test/helpers/temp.ts';
import { cpuBound } from './scale-graphs.ts';

const runs = Number(process.argv[2]);
configureThreads({ threads: 1 });
try {
  const data = openDataFolders(tempDir('bench-scale-bare'));
  await ensureSampleInputs(data);
  const executor = new Executor({ registry: createRegistry(), data, cache: new OutputCache(0) });
  const run = async () => {
    const result = await executor.run(cpuBound);
    if (result.status !== 'finished') throw new Error(`bare run ended ${result.status}`);
  };
  await run();
  process.stdout.write('warm\n');
  await once(process.stdin, 'data');
  for (let i = 0; i < runs; i++) await run();
  process.stdout.write('done\n');
} finally {
  removeTempDirs();
}
process.exit(0);
