import type { Queue } from 'bullmq';
import { RunEventSchema, type RunEvent, type RunView } from '../../protocol/index.ts';
import { givenUp } from './redis-worker.ts';

/** What BullMQ holds of a run's job once it is no longer waiting or going: its end should be in the stream. */
export type JobEnd = { state: 'completed'; result: unknown; at?: number } | { state: 'failed'; reason: string; at?: number } | { state: 'gone' };

/** The job's end, or undefined while it waits or goes (a stalled job put back to wait for another worker goes on). */
export async function jobEnd(queue: Queue, runId: string): Promise<JobEnd | undefined> {
  const state = await queue.getJobState(runId);
  if (state === 'unknown') return { state: 'gone' };
  if (state !== 'completed' && state !== 'failed') return undefined;
  // Removed in between (the queue keeps a limited number of ended jobs): gone.
  const job = await queue.getJob(runId);
  if (!job) return { state: 'gone' };
  return state === 'completed' ? { state, result: job.returnvalue, at: job.finishedOn } : { state, reason: job.failedReason, at: job.finishedOn };
}

export const LOST_END = "The worker's end of this run never arrived";

/**
 * The events that end a run whose worker's end never reached the stream: the end the worker returned to
 * BullMQ when it has it, else what the job's state tells, after a log line saying so.
 */
export function lostEndEvents(run: RunView, job: JobEnd, now: number): RunEvent[] {
  const { runId } = run;
  const time = (job.state !== 'gone' && job.at) || now;
  const durationMs = Math.max(0, time - (run.startedAt ?? run.queuedAt ?? time));
  if (job.state === 'gone') return [{ type: 'run.failed', runId, time, durationMs, message: `${LOST_END}; its job is no longer in the queue: run its graph again` }];
  const log: RunEvent = { type: 'log', runId, time: now, level: 'warn', message: `${LOST_END}: ended by the server as its job ${job.state}` };
  if (job.state === 'failed') return [log, { type: 'run.failed', runId, time, durationMs, message: givenUp(job.reason) }];
  const returned = RunEventSchema.safeParse(job.result);
  const ended = returned.success && returned.data.runId === runId && (returned.data.type === 'run.finished' || returned.data.type === 'run.failed' || returned.data.type === 'run.cancelled');
  return [log, ended ? returned.data : { type: 'run.finished', runId, time, durationMs }];
}
