// How many threads ORT sessions use: decided here once for the process and applied to every session by
// createSession. By default all physical cores work on one session (ORT's own default would be one
// thread per logical CPU, hyperthreads included); concurrent runs (`--workers N`) split them.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { OrtSessionOptions } from './ort.ts';

/** Physical cores: distinct (physical id, core id) pairs of /proc/cpuinfo, else the logical CPUs. */
export function physicalCores(cpuinfo = readCpuinfo()): number {
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const socket = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (socket !== undefined && core !== undefined) cores.add(`${socket}:${core}`);
  }
  return cores.size || availableParallelism();
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** A thread count from `--threads` or FACECHAIN_THREADS; undefined when not given. */
export function parseThreads(value: string | undefined, name = '--threads'): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: a whole number of threads, 1 or more (got "${value}")`);
  return n;
}

const settings: { threads?: number; workers: number } = { workers: 1 };
/** libvips's threads per image operation as sharp picked them (1 on glibc without jemalloc, else the cores). */
const SHARP_THREADS = sharp.concurrency();

/**
 * Sets the process's thread budget (`threads`; undefined: FACECHAIN_THREADS, else the physical cores) and
 * how many runs share it; image operations (sharp) get at most a run's share too, so runs executing at
 * once do not each take every core.
 */
export function configureThreads(o: { threads?: number; workers?: number }): void {
  if ('threads' in o) settings.threads = o.threads;
  if (o.workers !== undefined) settings.workers = Math.max(1, Math.floor(o.workers));
  sharp.concurrency(Math.min(SHARP_THREADS, runThreads()));
}

/** The threads all sessions of the process may use together. */
export function threadBudget(): number {
  return settings.threads ?? parseThreads(process.env.FACECHAIN_THREADS, 'FACECHAIN_THREADS') ?? physicalCores();
}

/**
 * The thread options of one session: its share of the budget for intra-op work (each of `workers`
 * concurrent runs gets budget / workers, at least 1), and one inter-op thread: sessions run
 * sequentially, so parallel branches never add threads on top of the intra-op pool.
 */
export function sessionThreads(): Required<Pick<OrtSessionOptions, 'intraOpNumThreads' | 'interOpNumThreads'>> {
  return { intraOpNumThreads: runThreads(), interOpNumThreads: 1 };
}

/** One run's share of the budget, at least 1. */
function runThreads(): number {
  return Math.max(1, Math.floor(threadBudget() / settings.workers));
}

/** `options` with the process's thread settings where it sets none itself. */
export function withThreads(options: OrtSessionOptions = {}): OrtSessionOptions {
  return { ...sessionThreads(), executionMode: 'sequential', ...options };
}
