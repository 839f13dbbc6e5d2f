// Scale (issue 14): throughput of a CPU-bound graph (the demo photos decoded, resized and laid out, the
// output cache off) with 1 and 2 workers, goal 2 >= 1.7x of 1 where 2 cores allow; and the queue's
// overhead per run, goal < 5 ms: (run.started - submit) + (seen on the WebSocket - run.finished), that is
// the whole trip minus the run's execution, for a tiny graph answered from the output cache, one run after
// the other, with the parts reported. What the executor does before run.started (validation, the memory
// check, which reads the photo's header) is execution too: measured on the executor alone and subtracted.
// The server is a `facechain serve` process, as deployed. Engines: embedded (the server's process runs the
// runs: `--workers N`) and Redis (a real redis-server with AOF, N `facechain worker` processes);
// the Redis overhead with AOF fsync `everysec` (Redis's default) and `always` (every write on disk first).
// For throughput, worker processes are pinned to a core each (taskset), as workers on machines of their own:
// 1 worker has one core, 2 have two; BENCH_SCALE_PIN=0 leaves them to the scheduler, splitting the cores by
// --threads. For the overhead the one worker is left to the scheduler, as the server, Redis and client are:
// pinned, it would wait for its core while the other idles.
// What 2 cores allow is measured too: the same runs in 1 and 2 bare executor processes, pinned alike.
// Redis's throughput is also measured with `--keep-outputs 0` (no run's outputs kept for the editor).
// BENCH_SCALE_RUNS / BENCH_SCALE_OVERHEAD_RUNS change the counts; BENCH_SCALE_ENGINES=embedded|Redis.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { RunEvent } from '../protocol/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { openDataFolders } from '../runtime/data-folder.ts';
import { Executor } from '../runtime/executor.ts';
import { OutputCache } from '../runtime/output-cache.ts';
import { ensureSampleInputs } from '../runtime/sample-inputs.ts';
import { physicalCores } from '../models/session/threads.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { removeTempDirs, tempDir } from '../test/helpers/temp.ts';
import { cpuBound, tiny } from './lib/scale-graphs.ts';

const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 32);
const OVERHEAD_RUNS = Number(process.env.BENCH_SCALE_OVERHEAD_RUNS ?? 200);
/** Runs of the tiny graph before its overhead is measured. */
const OVERHEAD_WARMUP = 1000;
const ENGINES = (process.env.BENCH_SCALE_ENGINES ?? 'embedded,Redis').split(',') as Setup['engine'][];
const PIN = process.env.BENCH_SCALE_PIN !== '0' && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** When this process saw each run start and end on the server's WebSocket, with the events' own times. */
interface Seen {
  started: number;
  finished: number;
  seen: number;
}

async function endings(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const started = new Map<string, number>();
  const ended = new Map<string, Seen>();
  const waiting = new Map<string, (s: Seen) => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const seen = Date.now();
    const e = JSON.parse(data.toString()) as RunEvent;
    if (e.type === 'run.started') started.set(e.runId, e.time);
    if (e.type !== 'run.finished' && e.type !== 'run.failed' && e.type !== 'run.cancelled') return;
    if (e.type !== 'run.finished') throw new Error(`run ${e.runId} ended ${e.type}: ${JSON.stringify(e)}`);
    const s = { started: started.get(e.runId) ?? Number.NaN, finished: e.time, seen };
    ended.set(e.runId, s);
    waiting.get(e.runId)?.(s);
  });
  await new Promise((resolve) => ws.once('message', resolve));
  return {
    end: (runId: string) => ended.get(runId) ?? new Promise<Seen>((resolve) => waiting.set(runId, resolve)),
    close: () => ws.close(),
  };
}

/** Kept-alive connections: the client's own cost (a new connection per run, fetch's machinery) is not the queue's. */
const agent = new http.Agent({ keepAlive: true });

function submit(url: string, graph: unknown): Promise<string> {
  const body = JSON.stringify({ graph });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/api/runs`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 202 ? resolve((JSON.parse(text) as { runId: string }).runId) : reject(new Error(`submit answered ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Setup {
  engine: 'embedded' | 'Redis';
  workers: number;
  cacheMb?: number;
  /** Workers pinned to a core each (when PIN allows). */
  pin?: boolean;
  /** `--keep-outputs` of the server and workers (unset: the default). */
  keepOutputs?: number;
  /** Redis's AOF fsync: `always` (each write on disk before Redis answers; what the README advises) or `everysec` (Redis's default). */
  fsync?: 'always' | 'everysec';
}

const ROOT = path.join(import.meta.dirname, '..');

/** A running `facechain` process: its pid, what it said on the line it was waited for, and how to stop it. */
interface Child {
  pid: number;
  ready: RegExpMatchArray;
  stop: () => Promise<void>;
}

/** The command line of `node <args>`, pinned to `core` (taskset) if given. */
const nodeOn = (args: string[], core?: number): [string, string[]] =>
  core === undefined ? [process.execPath, args] : ['taskset', ['-c', String(core), process.execPath, ...args]];

/** `facechain <args>` in a process of its own, as deployed, pinned to `core` if given; resolves once a line of its stderr matches `ready`. */
function spawnCli(args: string[], ready: RegExp, core?: number): Promise<Child> {
  const child = spawn(...nodeOn([path.join(ROOT, 'bin', 'facechain.js'), ...args], core), { stdio: ['ignore', 'ignore', 'pipe'] });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let said = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`facechain ${args[0]} exited (${code}): ${said}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      said += `${line}\n`;
      const match = line.match(ready);
      if (match)
        resolve({
          pid: child.pid!,
          ready: match,
          stop: async () => {
            child.kill('SIGTERM');
            await gone;
          },
        });
    });
  });
}

/** The flags a server and its workers share. */
const sharedFlags = (cacheMb: number | undefined, keepOutputs: number | undefined) => [
  ...(cacheMb === undefined ? [] : ['--cache-mb', String(cacheMb)]),
  ...(keepOutputs === undefined ? [] : ['--keep-outputs', String(keepOutputs)]),
];

/**
 * The server and, for Redis, its worker processes; `use` gets the server's URL and the pids of the
 * processes that do the bench's work. The server is a process of its own as deployed, so the bench's
 * client does not share its event loop. Workers are pinned to `core` (one thread), or share the machine's
 * cores (`--threads`), as runs executing at once in one process do.
 */
async function withServer<T>({ engine, workers, cacheMb, pin: pinned = false, keepOutputs, fsync = 'always' }: Setup, use: (url: string, pids: number[]) => Promise<T>): Promise<T> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const pids: number[] = [];
    const serve = ['serve', '--port', '0', '--api-only', '--data', tempDir('bench-scale'), '--workers', String(workers), ...sharedFlags(cacheMb, keepOutputs)];
    if (engine === 'Redis') {
      const r = await startRedis(fsync === 'always' ? [] : ['--appendfsync', fsync]);
      stops.push(r.stop);
      serve.push('--redis', r.url);
      const pin = pinned && PIN && workers <= CPUS;
      const threads = pin ? 1 : Math.max(1, Math.floor(physicalCores() / workers));
      const started = Array.from({ length: workers }, (_, i) =>
        spawnCli(['worker', '--redis', r.url, '--data', tempDir('bench-scale-worker'), '--name', `bench-${i}`, '--threads', String(threads), ...sharedFlags(cacheMb, keepOutputs)], /takes runs from the Redis queue/, pin ? lastCores(i) : undefined),
      );
      for (const w of await Promise.all(started)) {
        stops.push(w.stop);
        pids.push(w.pid);
      }
    }
    const server = await spawnCli(serve, /FaceChain Studio on (http:\/\/\S+)/);
    stops.push(server.stop);
    pids.push(server.pid);
    return await use(server.ready[1]!, pids);
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

const CPUS = availableParallelism();
/**
 * The core the i-th pinned process takes, from the last one down: a lone process gets the last core,
 * not core 0, which also takes the machine's interrupts (5-8% slower here): the 1-process figure is not
 * made worse than 2 processes on both cores.
 */
const lastCores = (i: number) => CPUS - 1 - i;

/** Ms of CPU this process and the given ones have used (user + system, all their threads). */
function cpuMs(pids: number[]): number {
  const own = process.cpuUsage();
  const ticks = pids.map((pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')).reduce((sum, f) => sum + Number(f[11]) + Number(f[12]), 0);
  return (own.user + own.system) / 1000 + (ticks * 1000) / CLOCK_TICKS;
}
/** /proc's CPU times are in clock ticks: 100 a second on Linux. */
const CLOCK_TICKS = 100;

/**
 * Runs per second of the CPU-bound graph, RUNS queued at once, after one warm-up run per worker; and how
 * many CPUs the bench's processes (server and client, worker processes) kept busy meanwhile: what 1
 * worker leaves idle is what 2 can gain, whatever else runs on the machine.
 */
const throughput = (engine: Setup['engine'], workers: number, keepOutputs?: number) =>
  withServer({ engine, workers, cacheMb: 0, pin: true, keepOutputs }, async (url, pids) => {
    const watch = await endings(url);
    await Promise.all((await Promise.all(Array.from({ length: workers }, () => submit(url, cpuBound)))).map(watch.end));
    const t = performance.now();
    const cpu = cpuMs(pids);
    const ids = await Promise.all(Array.from({ length: RUNS }, () => submit(url, cpuBound)));
    await Promise.all(ids.map(watch.end));
    const busyCpus = (cpuMs(pids) - cpu) / (performance.now() - t);
    watch.close();
    return { perSecond: RUNS / ((performance.now() - t) / 1000), busyCpus };
  });

/**
 * What the machine allows without any queue: RUNS runs of the CPU-bound graph split between `processes`
 * bare executors (bench/lib/bare-runs.ts), pinned to a core each as the workers are. Runs per second.
 */
async function ceiling(processes: number): Promise<number> {
  const script = path.join(ROOT, 'bench', 'lib', 'bare-runs.ts');
  const children = Array.from({ length: processes }, (_, i) => {
    const child = spawn(...nodeOn(['--import', 'tsx', script, String(RUNS / processes)], PIN ? lastCores(i) : undefined), { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const said = (word: string) => new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line === word && resolve());
      child.once('exit', (code) => reject(new Error(`bare runs exited (${code}) before saying ${word}`)));
    });
    return { child, warm: said('warm'), done: said('done') };
  });
  await Promise.all(children.map((c) => c.warm));
  const t = performance.now();
  for (const { child } of children) child.stdin!.write('go\n');
  await Promise.all(children.map((c) => c.done));
  return RUNS / ((performance.now() - t) / 1000);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The tiny cached graph, one run after the other (after OVERHEAD_WARMUP runs): the trip's parts per run, in ms. */
const overhead = (engine: Setup['engine'], preStart: number, fsync?: Setup['fsync']) =>
  withServer({ engine, workers: 1, fsync }, async (url) => {
    const watch = await endings(url);
    // A server's steady state, not its first seconds: the trip is 15-25% longer over the first few hundred
    // runs here, while V8 compiles the code on it.
    for (let i = 0; i < OVERHEAD_WARMUP; i++) await watch.end(await submit(url, tiny));
    const toStart: number[] = [];
    const toSeen: number[] = [];
    const execution: number[] = [];
    const trip: number[] = [];
    for (let i = 0; i < OVERHEAD_RUNS; i++) {
      const t = Date.now();
      const s = await watch.end(await submit(url, tiny));
      toStart.push(s.started - t);
      execution.push(s.finished - s.started);
      toSeen.push(s.seen - s.finished);
      trip.push(s.seen - t);
    }
    watch.close();
    const perRun = trip.map((x, i) => x - execution[i]! - preStart);
    return { overhead: mean(perRun), median: median(perRun), toStart: mean(toStart), toSeen: mean(toSeen), execution: mean(execution), trip: mean(trip) };
  });

/** Ms the executor alone takes from its call to run.started on the tiny graph (mean, after OVERHEAD_WARMUP runs). */
async function preStartOnExecutor(): Promise<number> {
  const data = openDataFolders(tempDir('bench-scale-direct'));
  await ensureSampleInputs(data);
  const executor = new Executor({ registry: createRegistry(), data, cache: new OutputCache() });
  for (let i = 0; i < OVERHEAD_WARMUP; i++) await executor.run(tiny);
  let sum = 0;
  for (let i = 0; i < OVERHEAD_RUNS; i++) {
    const t = performance.now();
    await executor.run(tiny, { onEvent: (e) => void (e.type === 'run.started' && (sum += performance.now() - t)) });
  }
  return sum / OVERHEAD_RUNS;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
try {
  console.log(`load average at start: ${load()}`);
  const preStart = await preStartOnExecutor();
  console.log(`executor alone, tiny graph: ${preStart.toFixed(2)} ms from its call to run.started (validation and memory check), subtracted below as execution`);
  if (PIN && CPUS >= 2) {
    const [one, two] = [await ceiling(1), await ceiling(2)];
    console.log(`no queue: ${RUNS} runs of the CPU-bound graph in bare executor processes pinned to a core each: 1 process ${one.toFixed(2)} runs/s, 2 processes ${two.toFixed(2)} runs/s (${(two / one).toFixed(2)}x: what 2 cores allow)`);
  }
  for (const engine of ENGINES) {
    // As run by default (the last 10 runs' outputs kept for the editor), and keeping none: fresh memory
    // for each run's outputs costs CPU, more when both cores work.
    for (const keepOutputs of engine === 'Redis' ? [undefined, 0] : [undefined]) {
      const one = await throughput(engine, 1, keepOutputs);
      const two = await throughput(engine, 2, keepOutputs);
      const at = engine === 'embedded' ? 'at a time' : `worker process(es)${PIN ? ' pinned to a core each' : ''}`;
      console.log(
        `${engine}${keepOutputs === undefined ? '' : ` (--keep-outputs ${keepOutputs})`}: throughput, ${RUNS} runs of the CPU-bound graph (cache off): 1 ${at} ${one.perSecond.toFixed(2)} runs/s (using ${one.busyCpus.toFixed(2)} of ${CPUS} CPUs), ` +
          `2 ${at} ${two.perSecond.toFixed(2)} runs/s (using ${two.busyCpus.toFixed(2)}) (${(two.perSecond / one.perSecond).toFixed(2)}x, goal >= 1.7x where 2 cores allow); load average ${load()}`,
      );
    }
    for (const fsync of engine === 'Redis' ? (['everysec', 'always'] as const) : [undefined]) {
      const o = await overhead(engine, preStart, fsync);
      console.log(
        `${engine}${fsync ? ` (appendfsync ${fsync})` : ''}: queue overhead per run (${OVERHEAD_RUNS} runs): ${o.overhead.toFixed(2)} ms mean, ${o.median!.toFixed(0)} ms median (submit -> run.started ${o.toStart.toFixed(2)} ms + run.finished -> seen on the WebSocket ${o.toSeen.toFixed(2)} ms, less ${preStart.toFixed(2)} ms of executor checks before run.started; execution ${o.execution.toFixed(2)} ms, whole trip ${o.trip.toFixed(2)} ms); goal < 5 ms`,
      );
    }
  }
  console.log(`load average at end: ${load()}`);
} finally {
  removeTempDirs();
}
