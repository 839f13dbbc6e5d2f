import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { SD_PARTS } from '../../models/sd/build.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { configureThreads, parseThreads, physicalCores, sessionThreads } from '../../models/session/threads.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const temps: string[] = [];
const temp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fc-threads-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  configureThreads({ threads: undefined, workers: 1 });
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('session threads', () => {
  it('counts physical cores, not hyperthreads', () => {
    const cpu = (p: number, core: number) => `processor\t: ${p}\nphysical id\t: 0\ncore id\t\t: ${core}\n`;
    expect(physicalCores([cpu(0, 0), cpu(1, 1), cpu(2, 0), cpu(3, 1)].join('\n'))).toBe(2);
    expect(physicalCores([cpu(0, 0), cpu(1, 1), cpu(2, 2)].join('\n'))).toBe(3);
    expect(physicalCores('')).toBe(os.availableParallelism());
  });

  it('splits the thread budget between concurrent runs, one inter-op thread each', () => {
    configureThreads({ threads: 8, workers: 2 });
    expect(sessionThreads()).toEqual({ intraOpNumThreads: 4, interOpNumThreads: 1 });
    configureThreads({ workers: 3 });
    expect(sessionThreads().intraOpNumThreads).toBe(2);
    configureThreads({ threads: 2, workers: 4 });
    expect(sessionThreads().intraOpNumThreads).toBe(1);
    configureThreads({ threads: undefined, workers: 1 });
    expect(sessionThreads().intraOpNumThreads).toBe(parseThreads(process.env.FACECHAIN_THREADS) ?? physicalCores());
  });

  it("caps sharp's threads per image operation at a run's share, never above sharp's own choice", () => {
    configureThreads({ threads: 2, workers: 2 });
    expect(sharp.concurrency()).toBe(1);
    // sharp's own default is at most the logical CPUs (1 on glibc without jemalloc).
    configureThreads({ threads: 1000, workers: 1 });
    expect(sharp.concurrency()).toBeGreaterThanOrEqual(1);
    expect(sharp.concurrency()).toBeLessThanOrEqual(os.availableParallelism());
  });

  it('rejects thread counts that are not whole numbers of 1 or more', () => {
    expect(parseThreads(undefined)).toBeUndefined();
    expect(parseThreads('3')).toBe(3);
    expect(() => parseThreads('0')).toThrow(/--threads: a whole number of threads, 1 or more \(got "0"\)/);
    expect(() => parseThreads('two', 'FACECHAIN_THREADS')).toThrow(/FACECHAIN_THREADS/);
  });

  it('creates every SD session with the configured threads', async () => {
    configureThreads({ threads: 3 });
    const model = await loadSdModel('tiny', temp());
    for (const part of SD_PARTS) {
      const options = (await model.session(part)).options;
      expect(options, part).toMatchObject({ intraOpNumThreads: 3, interOpNumThreads: 1, executionMode: 'sequential' });
    }
    await model.release();
  });

  it('honours `run --threads 1` in the sessions of a txt2img run', async () => {
    const data = temp();
    const code = await main([
      'run', path.join(ROOT, 'graphs/txt2img.json'), '--threads', '1', '--data', data, '--quiet',
      '--set', 'sampler.steps=2', '--set', 'sampler.width=64', '--set', 'sampler.height=64', '--set', 'sampler.batch=1',
    ]);
    expect(code).toBe(0);
    // The run's model is the process's tiny model for that data folder: its sessions are the ones the run used.
    const model = await loadSdModel('tiny', path.join(data, 'models'));
    for (const part of ['text', 'unet', 'vaeDecoder'] as const) {
      expect((await model.session(part)).options, part).toMatchObject({ intraOpNumThreads: 1, interOpNumThreads: 1 });
    }
    await model.release();
  });
});
