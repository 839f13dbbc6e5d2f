import { RunEventSchema, type RunEvent, decodePreviewFrame } from '../../../protocol/index.ts';
import { withToken } from './token.ts';

/** A decoded binary frame: preview header and the encoded image. */
export type PreviewFrame = ReturnType<typeof decodePreviewFrame>;

export type LiveStatus = 'connecting' | 'open' | 'closed';

export interface LiveHandlers {
  event(e: RunEvent): void;
  preview(frame: PreviewFrame): void;
  status(s: LiveStatus): void;
}

/**
 * The run event stream over /ws, reconnecting with backoff. It listens to every run: the editor starts a
 * run with POST and learns its id only from the answer, so events that race ahead of it are not lost.
 */
export class LiveConnection {
  private ws?: WebSocket;
  private retry = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;
  /** A replay asked for before the socket was open: sent once it is. */
  private pendingReplay?: string;

  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly on: LiveHandlers,
  ) {
    this.open();
  }

  /** Asks the server to replay a run's events so far (after a reconnect or a page reload). */
  replay(runId: string): void {
    if (this.ws?.readyState !== WebSocket.OPEN) {
      this.pendingReplay = runId;
      return;
    }
    this.ws.send(JSON.stringify({ type: 'subscribe', runId }));
    // Back to every run so later runs (ours or others') keep streaming.
    this.ws.send(JSON.stringify({ type: 'subscribe' }));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  private open(): void {
    this.on.status('connecting');
    const ws = new WebSocket(withToken(this.url, this.token));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.on.status('open');
      const pending = this.pendingReplay;
      this.pendingReplay = undefined;
      if (pending) this.replay(pending);
    };
    ws.onmessage = (m) => {
      if (m.data instanceof ArrayBuffer) {
        try {
          this.on.preview(decodePreviewFrame(new Uint8Array(m.data)));
        } catch (e) {
          console.warn('Bad preview frame', e);
        }
        return;
      }
      let data: unknown;
      try {
        data = JSON.parse(String(m.data));
      } catch {
        return;
      }
      const parsed = RunEventSchema.safeParse(data);
      if (parsed.success) this.on.event(parsed.data);
    };
    ws.onclose = () => {
      this.on.status('closed');
      if (this.closed) return;
      const delay = Math.min(10_000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}

/** ws:// or wss:// URL of the event stream for a page served from `origin`. */
export function liveUrl(origin: string): string {
  const u = new URL('/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
