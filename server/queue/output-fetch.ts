// A server's side of worker-outputs.ts: asks the worker that ran a run for one of its images and waits for
// its answer on a channel of this server's own.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { HttpError } from '../http-error.ts';
import { SAVED_FILES_NOTE } from './engine.ts';
import { answerKey, OutputAnswerSchema, outputsChannel, type OutputAnswer, type OutputRequest } from './worker-outputs.ts';

/** A worker that heard the request but does not answer (it died meanwhile) is given up on after this. */
const ANSWER_WAIT_MS = 30_000;

export class OutputFetch {
  private readonly reply = `facechain:output-answers:${randomUUID()}`;
  private waiting = new Map<string, (answer: OutputAnswer) => void>();

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
  ) {
    subscriber.on('message', (_channel: string, message: string) => {
      const answer = OutputAnswerSchema.safeParse(jsonOrUndefined(message));
      if (answer.success) this.waiting.get(answer.data.id)?.(answer.data);
    });
  }

  /** `subscriber` becomes this fetcher's: a connection in subscriber mode takes no other command. */
  static async open(redis: Redis, subscriber: Redis): Promise<OutputFetch> {
    const fetcher = new OutputFetch(redis, subscriber);
    await subscriber.subscribe(fetcher.reply);
    return fetcher;
  }

  /** The PNG of one image that `worker` holds for a run; an HttpError saying why when there is none. */
  async png(worker: string, request: Omit<OutputRequest, 'id' | 'reply'>): Promise<Buffer> {
    const id = randomUUID();
    const at = `${request.nodeId}.${request.port}[${request.index}]`;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<OutputAnswer | undefined>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => resolve(undefined), ANSWER_WAIT_MS).unref();
    });
    try {
      // Received by no one: the worker is not up (its name is listened to by it alone).
      const heard = await this.redis.publish(outputsChannel(worker), JSON.stringify({ ...request, id, reply: this.reply } satisfies OutputRequest));
      if (!heard) throw new HttpError(410, `Worker ${worker}, which ran run "${request.runId}", has stopped: a run's outputs are held in its worker's memory (${SAVED_FILES_NOTE})`);
      const answer = await answered;
      if (!answer) throw new HttpError(504, `Worker ${worker} did not answer for ${at} of run "${request.runId}" within ${ANSWER_WAIT_MS / 1000} s`);
      if (answer.status === 'missing') throw new HttpError(404, `No image at ${at} in run "${request.runId}"`);
      const png = answer.status === 'ok' ? await this.redis.getdelBuffer(answerKey(id)) : null;
      if (!png) throw new HttpError(410, `Worker ${worker} no longer holds the outputs of run "${request.runId}": it keeps its last runs' only (${SAVED_FILES_NOTE})`);
      return png;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
