import { z } from 'zod';
import { ProblemSchema, type RunEvent } from './events.ts';

/** What watchers know about a run (server history, editor), folded from its event stream. */
export const NodeStateSchema = z.enum(['queued', 'running', 'cached', 'done', 'error', 'skipped']);
export type NodeState = z.infer<typeof NodeStateSchema>;
export const RunStatusSchema = z.enum(['starting', 'queued', 'running', 'finished', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const NodeRunSchema = z.object({
  state: NodeStateSchema,
  fraction: z.number().optional(),
  message: z.string().optional(),
  error: z.string().optional(),
  durationMs: z.number().optional(),
  outputs: z.record(z.string(), z.string()).optional(),
});
export type NodeRun = z.infer<typeof NodeRunSchema>;

export const LogLineSchema = z.object({
  time: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  nodeId: z.string().optional(),
  message: z.string(),
});
export type LogLine = z.infer<typeof LogLineSchema>;

/** When a run was queued, started and ended, and why it failed: in its live view and in its summary. */
export const RunTimesSchema = z.object({
  runId: z.string(),
  status: RunStatusSchema,
  queuedAt: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
  problems: z.array(ProblemSchema).optional(),
});

export const RunViewSchema = RunTimesSchema.extend({
  /** Place in the server's queue while queued. */
  position: z.number().optional(),
  nodes: z.record(z.string(), NodeRunSchema),
  logs: z.array(LogLineSchema),
});
export type RunView = z.infer<typeof RunViewSchema>;

/** Log lines a RunView keeps (a live view; the server's run history keeps the whole log). */
const MAX_LOGS = 500;

export function newRun(runId: string): RunView {
  return { runId, status: 'starting', nodes: {}, logs: [] };
}

export function isActive(run: Pick<RunView, 'status'> | undefined): boolean {
  return run !== undefined && (run.status === 'starting' || run.status === 'queued' || run.status === 'running');
}

/** Pure reducer: returns a new RunView (or the same one when the event is not about this run). */
export function reduceRun(run: RunView, e: RunEvent): RunView {
  if (e.runId !== run.runId) return run;
  const next = reduceState(run, e);
  const line = logLineOf(e);
  return line ? withLog(next, line) : next;
}

/** The log line an event adds: log events and node errors. */
export function logLineOf(e: RunEvent): LogLine | undefined {
  if (e.type === 'log') return { time: e.time, level: e.level, nodeId: e.nodeId, message: e.message };
  if (e.type === 'node.error') return { time: e.time, level: 'error', nodeId: e.nodeId, message: e.message };
  return undefined;
}

/** A run that stopped: nodes that never got to finish are not "queued" or "running" any more. */
function unfinishedDropped(run: RunView): RunView {
  return { ...run, nodes: Object.fromEntries(Object.entries(run.nodes).filter(([, n]) => n.state !== 'queued' && n.state !== 'running')) };
}

function reduceState(run: RunView, e: RunEvent): RunView {
  const node = (id: string, patch: NodeRun): RunView => ({ ...run, nodes: { ...run.nodes, [id]: patch } });
  switch (e.type) {
    case 'run.queued':
      return { ...run, status: 'queued', position: e.position, queuedAt: e.time };
    case 'run.started':
      return {
        ...run,
        status: 'running',
        position: undefined,
        startedAt: e.time,
        nodes: Object.fromEntries(e.nodes.map((id) => [id, { state: 'queued' } satisfies NodeRun])),
      };
    case 'run.finished':
      return { ...run, status: 'finished', durationMs: e.durationMs, finishedAt: e.time };
    case 'run.failed':
      return { ...unfinishedDropped(run), status: 'failed', durationMs: e.durationMs, finishedAt: e.time, error: e.message, problems: e.problems };
    case 'run.cancelled':
      return { ...unfinishedDropped(run), status: 'cancelled', durationMs: e.durationMs, finishedAt: e.time };
    case 'node.started':
      return node(e.nodeId, { state: 'running', fraction: 0 });
    case 'node.progress':
      return node(e.nodeId, { ...run.nodes[e.nodeId], state: 'running', fraction: e.fraction, message: e.message });
    case 'node.cached':
      return node(e.nodeId, { state: 'cached' });
    case 'node.finished':
      return node(e.nodeId, {
        state: run.nodes[e.nodeId]?.state === 'cached' ? 'cached' : 'done',
        durationMs: e.durationMs,
        outputs: e.outputs,
      });
    case 'node.error':
      return node(e.nodeId, { state: 'error', error: e.message });
    case 'node.skipped':
      return node(e.nodeId, { state: 'skipped', message: e.reason });
    case 'log':
    case 'node.preview':
    case 'sweep.cell':
      return run;
  }
}

function withLog(run: RunView, line: LogLine): RunView {
  const logs = run.logs.length >= MAX_LOGS ? run.logs.slice(1 - MAX_LOGS) : run.logs;
  return { ...run, logs: [...logs, line] };
}

/** Elapsed or final time of a run, for the toolbar. */
export function runSeconds(run: RunView, now: number): number | undefined {
  if (run.durationMs !== undefined) return run.durationMs / 1000;
  return run.startedAt !== undefined ? (now - run.startedAt) / 1000 : undefined;
}
