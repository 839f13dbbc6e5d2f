import { randomUUID } from 'node:crypto';
import type { DataFolders } from './data-folder.ts';
import { type PreviewImage, type Problem, type RunEvent, type RunListener, adaptValue, type RunStatus } from '../protocol/index.ts';
import { cacheKey } from './cache-key.ts';
import { defaultRunBudget, overBudget } from './memory-estimate.ts';
import type { AnyNodeDefinition, Services } from './node.ts';
import { nodeContext } from './node-context.ts';
import { OutputCache } from './output-cache.ts';
import { planNodes } from './plan.ts';
import type { NodeRegistry } from './registry.ts';
import { runNode } from './run-node.ts';
import { checkGraph, type CheckResult } from './validate.ts';
import { isImage } from './values.ts';

export interface ExecutorOptions {
  registry: NodeRegistry;
  data: DataFolders;
  services?: Services;
  /** Shared across runs so a re-run only executes what changed. */
  cache?: OutputCache;
  /** Minimum milliseconds between two progress events of one node. */
  progressIntervalMs?: number;
  /** Bytes a run's outputs may hold; a run estimated to need more is refused before it starts. Default: defaultRunBudget(). */
  memoryBudget?: number;
}

export interface RunOptions {
  runId?: string;
  /** Node ids whose results are wanted; default: every node without outgoing edges. */
  targets?: string[];
  signal?: AbortSignal;
  onEvent?: RunListener;
}

/** How a run ended. */
export type RunEnd = Exclude<RunStatus, 'starting' | 'queued' | 'running'>;

export interface NodeFailure {
  node: string;
  nodeType: string;
  message: string;
}

export interface RunResult {
  runId: string;
  status: RunEnd;
  /** Outputs of every node that finished or came from cache, also when the run failed. */
  outputs: Map<string, Record<string, unknown>>;
  executed: string[];
  cached: string[];
  failures: NodeFailure[];
  problems: Problem[];
  timings: Record<string, number>;
  durationMs: number;
}

/** Runs graphs: validation, dependency order, output cache, cancel, error isolation, events. */
export class Executor {
  readonly cache: OutputCache;
  /** What the nodes share across runs of this executor (the caller's, or an empty set they fill). */
  readonly services: Services;
  private readonly progressIntervalMs: number;

  constructor(private readonly opts: ExecutorOptions) {
    this.cache = opts.cache ?? new OutputCache();
    this.services = opts.services ?? {};
    this.progressIntervalMs = opts.progressIntervalMs ?? 50;
  }

  /** Validates `doc` (a run that fails validation lists every problem), then runs it. */
  run(doc: unknown, options: RunOptions = {}): Promise<RunResult> {
    return this.execute(checkGraph(doc, this.opts.registry, { targets: options.targets }), options);
  }

  /**
   * Runs a graph validated at the edge (the server's queue checks it on submit), without checking it
   * again; `targets` must be the ones it was checked with.
   */
  async execute(check: CheckResult, options: RunOptions = {}): Promise<RunResult> {
    const runId = options.runId ?? randomUUID();
    const emit = (event: RunEvent, preview?: PreviewImage) => options.onEvent?.(event, preview);
    const started = performance.now();
    const result: RunResult = {
      runId,
      status: 'finished',
      outputs: new Map(),
      executed: [],
      cached: [],
      failures: [],
      problems: [],
      timings: {},
      durationMs: 0,
    };
    const finish = (status: RunEnd, message?: string): RunResult => {
      result.status = status;
      result.durationMs = performance.now() - started;
      const base = { runId, time: Date.now(), durationMs: result.durationMs };
      if (status === 'finished') emit({ type: 'run.finished', ...base });
      else if (status === 'cancelled') emit({ type: 'run.cancelled', ...base });
      else emit({ type: 'run.failed', ...base, message: message ?? 'Run failed', problems: result.problems.length ? result.problems : undefined });
      return result;
    };

    if (!check.ok) {
      result.problems = check.problems;
      return finish('failed', `The graph has ${check.problems.length} problem(s)`);
    }
    const checked = check.checked;
    const plan = planNodes(checked, checked.targets);
    const over = await overBudget(checked, plan, this.opts.data, this.opts.memoryBudget ?? defaultRunBudget());
    if (over) {
      result.problems = [over];
      return finish('failed', over.message);
    }
    emit({ type: 'run.started', runId, time: Date.now(), nodes: plan });
    for (const note of checked.notes) emit({ type: 'log', runId, time: Date.now(), level: 'info', message: note });

    const keys = new Map<string, string>();
    const blocked = new Map<string, string>();
    const signal = options.signal ?? new AbortController().signal;
    let previewId = 0;

    for (const nodeId of plan) {
      if (signal.aborted) return finish('cancelled');
      const def = checked.defs.get(nodeId)!;
      const params = checked.params.get(nodeId)!;
      const incoming = checked.incoming.get(nodeId) ?? new Map();

      const upstreamProblem = [...incoming.values()].map((c) => blocked.get(c.from.node) && c.from.node).find(Boolean);
      if (upstreamProblem) {
        blocked.set(nodeId, upstreamProblem);
        emit({ type: 'node.skipped', runId, nodeId, time: Date.now(), reason: `Upstream node "${upstreamProblem}" failed` });
        continue;
      }

      const inputs: Record<string, unknown> = {};
      const inputKeys: [string, string, string][] = [];
      for (const [port, c] of incoming) {
        inputs[port] = adaptValue(c.from.type, c.to.type, result.outputs.get(c.from.node)![c.from.port]);
        inputKeys.push([port, keys.get(c.from.node)!, c.from.port]);
      }
      let key: string;
      try {
        key = cacheKey(def, params, inputKeys.sort(), def.fingerprint?.(params, this.opts.data));
      } catch (e) {
        failNode(nodeId, def, e);
        continue;
      }
      keys.set(nodeId, key);

      const cacheable = def.cacheable !== false;
      const hit = cacheable ? this.cache.get(key) : undefined;
      if (hit) {
        result.outputs.set(nodeId, hit);
        result.cached.push(nodeId);
        emit({ type: 'node.cached', runId, nodeId, time: Date.now() });
        continue;
      }

      emit({ type: 'node.started', runId, nodeId, nodeType: def.type, time: Date.now() });
      const t0 = performance.now();
      const { ctx, pending } = nodeContext({
        runId, nodeId, key, params, signal, graph: checked.graph, data: this.opts.data, services: this.services,
        progressIntervalMs: this.progressIntervalMs, emit, nextPreviewId: () => previewId++,
      });
      try {
        const outputs = await runNode(def, ctx, inputs, params, pending);
        const ms = performance.now() - t0;
        result.outputs.set(nodeId, outputs);
        result.executed.push(nodeId);
        result.timings[nodeId] = ms;
        if (cacheable) this.cache.set(key, outputs);
        emit({ type: 'node.finished', runId, nodeId, time: Date.now(), durationMs: ms, outputs: summarise(outputs) });
      } catch (e) {
        if (signal.aborted) return finish('cancelled');
        failNode(nodeId, def, e);
      }
    }
    const f = result.failures[0];
    if (f) {
      return finish('failed', `Node "${f.node}" (${f.nodeType}) failed: ${f.message}${result.failures.length > 1 ? ` (+${result.failures.length - 1} more)` : ''}`);
    }
    return finish('finished');

    function failNode(nodeId: string, def: AnyNodeDefinition, e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      blocked.set(nodeId, nodeId);
      result.failures.push({ node: nodeId, nodeType: def.type, message });
      emit({ type: 'node.error', runId, nodeId, time: Date.now(), nodeType: def.type, message });
    }
  }
}

function summarise(outputs: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(outputs ?? {}).map(([port, v]) => [port, describeValue(v)]));
}

function describeValue(v: unknown): string {
  if (isImage(v)) return `image ${v.width}x${v.height}`;
  if (Array.isArray(v)) return v.length && isImage(v[0]) ? `${v.length} images` : `${v.length} items`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v.length > 80 ? `${v.slice(0, 77)}...` : v;
  return typeof v;
}
