import type { RunEvent } from './events.ts';

/** What watchers know about a run, folded from its events (server history, CLI display, editor). */
export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';
export type NodeState = 'queued' | 'running' | 'cached' | 'done' | 'error' | 'skipped';

export interface NodeStatus {
  state: NodeState;
  fraction?: number;
  message?: string;
  error?: string;
  durationMs?: number;
  outputs?: Record<string, string>;
  previews?: number;
}

export interface RunState {
  runId: string;
  status: RunStatus;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  error?: string;
  nodes: Record<string, NodeStatus>;
}

export function initialRunState(runId: string): RunState {
  return { runId, status: 'queued', nodes: {} };
}

/** Applies one event; returns the same object, changed (callers that need immutability copy first). */
export function applyRunEvent(s: RunState, e: RunEvent): RunState {
  const node = (id: string): NodeStatus => (s.nodes[id] ??= { state: 'queued' });
  switch (e.type) {
    case 'run.queued':
      s.status = 'queued';
      s.queuedAt = e.time;
      break;
    case 'run.started':
      s.status = 'running';
      s.startedAt = e.time;
      for (const id of e.nodes) s.nodes[id] = { state: 'queued' };
      break;
    case 'run.finished':
    case 'run.cancelled':
    case 'run.failed':
      s.status = e.type === 'run.finished' ? 'finished' : e.type === 'run.cancelled' ? 'cancelled' : 'failed';
      s.finishedAt = e.time;
      s.durationMs = e.durationMs;
      if (e.type === 'run.failed') s.error = e.message;
      for (const n of Object.values(s.nodes)) if (n.state === 'running' || n.state === 'queued') n.state = 'skipped';
      break;
    case 'node.started':
      Object.assign(node(e.nodeId), { state: 'running', fraction: 0 });
      break;
    case 'node.progress':
      Object.assign(node(e.nodeId), { fraction: e.fraction, message: e.message });
      break;
    case 'node.preview':
      node(e.nodeId).previews = (node(e.nodeId).previews ?? 0) + 1;
      break;
    case 'node.cached':
      node(e.nodeId).state = 'cached';
      break;
    case 'node.finished':
      Object.assign(node(e.nodeId), { state: 'done', fraction: 1, durationMs: e.durationMs, outputs: e.outputs });
      break;
    case 'node.error':
      Object.assign(node(e.nodeId), { state: 'error', error: e.message });
      break;
    case 'node.skipped':
      Object.assign(node(e.nodeId), { state: 'skipped', message: e.reason });
      break;
    case 'log':
      break;
  }
  return s;
}
