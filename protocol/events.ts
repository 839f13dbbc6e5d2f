import { z } from 'zod';
import { SweepRowSchema } from './sweep-results.ts';

/**
 * The event stream of a run, the same for the CLI and the server (which sends it as JSON over the
 * WebSocket; preview pixels travel as binary frames, protocol/preview-frame.ts and docs/api.md).
 */
const base = { runId: z.string(), time: z.number().describe('ms since the epoch') };
const nodeBase = { ...base, nodeId: z.string() };

export const ProblemSchema = z.object({
  node: z.string().optional(),
  field: z.string().optional(),
  message: z.string(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run.queued'), ...base, position: z.number() }),
  z.object({ type: z.literal('run.started'), ...base, nodes: z.array(z.string()) }),
  z.object({ type: z.literal('run.finished'), ...base, durationMs: z.number() }),
  z.object({
    type: z.literal('run.failed'),
    ...base,
    message: z.string(),
    problems: z.array(ProblemSchema).optional(),
    durationMs: z.number(),
  }),
  z.object({ type: z.literal('run.cancelled'), ...base, durationMs: z.number() }),
  z.object({ type: z.literal('node.started'), ...nodeBase, nodeType: z.string() }),
  z.object({
    type: z.literal('node.progress'),
    ...nodeBase,
    fraction: z.number(),
    message: z.string().optional(),
  }),
  z.object({
    type: z.literal('node.preview'),
    ...nodeBase,
    previewId: z.number(),
    index: z.number(),
    width: z.number(),
    height: z.number(),
    mime: z.string(),
  }),
  z.object({ type: z.literal('node.cached'), ...nodeBase }),
  z.object({
    type: z.literal('node.finished'),
    ...nodeBase,
    durationMs: z.number(),
    outputs: z.record(z.string(), z.string()).describe('port -> short summary'),
  }),
  z.object({
    type: z.literal('node.error'),
    ...nodeBase,
    nodeType: z.string(),
    message: z.string(),
  }),
  z.object({ type: z.literal('node.skipped'), ...nodeBase, reason: z.string() }),
  z.object({
    type: z.literal('log'),
    ...base,
    nodeId: z.string().optional(),
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
  }),
  z.object({
    type: z.literal('sweep.cell'),
    ...base,
    folder: z.string().describe('the sweep folder inside the output folder'),
    done: z.number(),
    total: z.number(),
    labels: z.array(z.string()).describe('axis names, X first'),
    row: SweepRowSchema,
  }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;
export type RunEventType = RunEvent['type'];

/** An encoded preview image; in-process listeners get the bytes beside the `node.preview` event. */
export interface PreviewImage {
  mime: string;
  data: Uint8Array;
}

export type RunListener = (event: RunEvent, preview?: PreviewImage) => void;
