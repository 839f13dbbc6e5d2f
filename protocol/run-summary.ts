import { z } from 'zod';
import type { RunEvent } from './events.ts';
import { logLineOf, RunTimesSchema, type LogLine, type RunView } from './run-state.ts';

/** One line of the run history (GET /api/runs): what a list of past runs shows. */
export const RunSummarySchema = RunTimesSchema.extend({
  graphName: z.string(),
  logCount: z.number().describe('lines in the whole log (log events and node errors)'),
  lastError: z.object({ nodeId: z.string().optional(), message: z.string() }).optional().describe('the last error line of the log'),
  interrupted: z
    .enum(['queued', 'running'])
    .optional()
    .describe('set when the server stopped (crash, kill) while the run was queued (it never ran: queue it again) or running; its status is then failed'),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export function fullLog(events: RunEvent[]): LogLine[] {
  return events.flatMap((e) => logLineOf(e) ?? []);
}

export function runSummary(state: RunView, graphName: string, events: RunEvent[]): RunSummary {
  const { runId, status, queuedAt, startedAt, finishedAt, durationMs, error, problems } = state;
  const log = fullLog(events);
  const lastError = log.findLast((l) => l.level === 'error');
  return {
    runId,
    graphName,
    status,
    queuedAt,
    startedAt,
    finishedAt,
    durationMs,
    error,
    problems,
    logCount: log.length,
    lastError: lastError && { nodeId: lastError.nodeId, message: lastError.message },
  };
}

const end = (r: RunSummary) => r.finishedAt ?? Number.MAX_SAFE_INTEGER;
/** Newest queued first; runs queued in the same millisecond by end, one still going first. */
export const newestFirst = (a: RunSummary, b: RunSummary) => (b.queuedAt ?? 0) - (a.queuedAt ?? 0) || end(b) - end(a);

