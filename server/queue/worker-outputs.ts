// A Redis run's full-size outputs stay in the memory of the worker that ran it (its last runs', as the
// embedded engine keeps its own), and any server asks that worker for one when a client opens it: a
// request on the worker's channel, the PNG answered through a short-lived key. Nothing is stored for
// outputs nobody opens (the editor opens few of a run's images), and nothing needs a shared folder.
import { z } from 'zod';
import type { Redis } from 'ioredis';
import { encodePng } from '../../runtime/image-io.ts';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { imageCounts, imagesIn } from '../../runtime/values.ts';
import { KEPT_OUTPUT_RUNS } from './engine.ts';

/** How long an answer's PNG waits in Redis for the server that asked. */
const ANSWER_TTL_MS = 60_000;

/** Where a worker hears requests for the outputs it holds. */
export const outputsChannel = (worker: string) => `facechain:outputs:${worker}`;
/** Where a worker puts the PNG it answers with. */
export const answerKey = (requestId: string) => `facechain:output:${requestId}`;

/** Images per node and port of a run, as GET /api/runs/:id reports them. */
export const ImageCountsSchema = z.record(z.string(), z.record(z.string(), z.number().int().min(1)));
/** What a run's end entry in the stream says of its outputs: which worker holds them, how many images. */
export const RunOutputsSchema = z.object({ worker: z.string(), images: ImageCountsSchema });
export type RunOutputs = z.infer<typeof RunOutputsSchema>;

export const OutputRequestSchema = z.object({
  id: z.string().uuid(),
  runId: z.string(),
  nodeId: z.string(),
  port: z.string(),
  index: z.number().int().min(0),
  /** The asking server's channel. */
  reply: z.string().startsWith('facechain:'),
});
export type OutputRequest = z.infer<typeof OutputRequestSchema>;

/** `ok`: the PNG is at answerKey(id); `gone`: the run's outputs were dropped; `missing`: no such image. */
export const OutputAnswerSchema = z.object({ id: z.string(), status: z.enum(['ok', 'gone', 'missing']) });
export type OutputAnswer = z.infer<typeof OutputAnswerSchema>;

/** A worker's side: the last runs' outputs, and the answers to requests for them. */
export class WorkerOutputs {
  private runs = new Map<string, Map<string, Record<string, unknown>>>();

  constructor(private readonly limit = KEPT_OUTPUT_RUNS) {}

  /** Keeps a run's outputs (dropping the oldest run's beyond the limit); answers its image counts. */
  keep(runId: string, outputs: Map<string, Record<string, unknown>>): RunOutputs['images'] {
    this.runs.delete(runId);
    this.runs.set(runId, outputs);
    for (const old of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - this.limit))) this.runs.delete(old);
    const images: RunOutputs['images'] = {};
    for (const [nodeId, ports] of outputs) {
      const counts = imageCounts(ports ?? {});
      if (Object.keys(counts).length) images[nodeId] = counts;
    }
    return images;
  }

  /** Answers one request heard on the worker's channel; one that is not a request is ignored. */
  async answer(writer: Redis, message: string): Promise<void> {
    const request = OutputRequestSchema.safeParse(jsonOrUndefined(message));
    if (!request.success) return;
    const { id, runId, nodeId, port, index, reply } = request.data;
    const outputs = this.runs.get(runId);
    const image = outputs && imagesIn(outputs.get(nodeId)?.[port])[index];
    const answer = (status: OutputAnswer['status']) => JSON.stringify({ id, status } satisfies OutputAnswer);
    if (!image) {
      await writer.publish(reply, answer(outputs ? 'missing' : 'gone'));
      return;
    }
    const png = await encodePng(image);
    await writer.multi().set(answerKey(id), png, 'PX', ANSWER_TTL_MS).publish(reply, answer('ok')).exec();
  }
}
