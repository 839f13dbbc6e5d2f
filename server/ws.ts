import type { Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { previewFrameOf } from '../protocol/index.ts';
import { jsonOrUndefined } from '../runtime/json-depth.ts';
import { refusal } from './auth.ts';
import { HttpError, toHttpError } from './http-error.ts';
import type { RunHistory } from './run-history.ts';
import type { RunEngine } from './queue/engine.ts';

/** A client this far behind drops previews rather than growing the server's memory. */
const tooSlow = (socket: WebSocket) => socket.bufferedAmount > 8 * 1024 * 1024;

const ClientMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('subscribe'), runId: z.string().optional() })]);

/** WebSocket endpoint: every client gets the event stream (JSON) and previews (binary frames). */
export function attachWebSocket(server: Server, queue: RunEngine, history: RunHistory, token: string | undefined): WebSocketServer {
  const wss = new WebSocketServer({
    server,
    path: '/ws',
    maxPayload: 64 * 1024,
    verifyClient: (info, done) => {
      const refused = refusal(info.req, token);
      if (refused) done(false, refused.status, refused.message);
      else done(true);
    },
  });
  const filters = new Map<WebSocket, string | undefined>();

  const follow = (socket: WebSocket, runId: string | undefined) => {
    filters.set(socket, runId);
    // Replays what happened so far: a run in memory, else one saved by an earlier process.
    if (runId) for (const e of queue.get(runId)?.events ?? history.read(runId)?.events ?? []) socket.send(JSON.stringify(e));
  };

  wss.on('connection', guarded((socket, req) => {
    socket.on('message', guarded((raw, isBinary) => {
      const msg = isBinary ? undefined : ClientMessage.safeParse(jsonOrUndefined(raw.toString()));
      if (!msg?.success) throw new HttpError(400, 'Send {"type":"subscribe","runId"?: string}');
      follow(socket, msg.data.runId);
    }, socket));
    socket.on('close', () => filters.delete(socket));
    socket.on('error', () => filters.delete(socket));
    socket.send(JSON.stringify({ type: 'hello', version: 1 }));
    follow(socket, new URL(req.url ?? '/', 'http://x').searchParams.get('runId') ?? undefined);
  }));

  /** The open sockets that follow this run (or every run). */
  function* watching(runId: string) {
    for (const [socket, only] of filters) if ((!only || only === runId) && socket.readyState === socket.OPEN) yield socket;
  }
  const unsubscribe = queue.subscribe(guarded((event, preview) => {
    const text = JSON.stringify(event);
    const frame = preview && event.type === 'node.preview' ? previewFrameOf(event, preview.data) : undefined;
    for (const socket of watching(event.runId)) {
      if (frame && tooSlow(socket)) continue;
      socket.send(text);
      if (frame) socket.send(frame, { binary: true });
    }
  }));
  // Engines that carry previews apart from the events (Redis) hand over their frames as they come.
  const unsubscribeFrames = queue.subscribeFrames?.(guarded((runId, frame) => {
    for (const socket of watching(runId)) if (!tooSlow(socket)) socket.send(frame, { binary: true });
  }));
  wss.on('close', () => {
    unsubscribe();
    unsubscribeFrames?.();
  });
  wss.on('error', (e) => void process.stderr.write(`WebSocket server: ${e.message}\n`));
  return wss;
}

/**
 * An event handler that cannot take the process down: what it throws is answered to the client as an
 * `error` event (the message toHttpError makes for clients), and an unexpected error's details are
 * logged. Every handler in this file goes through it: a thrown error in an event handler is uncaught.
 */
function guarded<A extends unknown[]>(handler: (...args: A) => void, socket?: WebSocket): (...args: A) => void {
  return (...args: A) => {
    try {
      handler(...args);
    } catch (e) {
      const target = socket ?? (args[0] instanceof WebSocket ? args[0] : undefined);
      const answer = toHttpError(e);
      if (answer.unexpected) process.stderr.write(`WebSocket: ${(e as Error)?.stack ?? String(e)}\n`);
      if (target?.readyState === WebSocket.OPEN) target.send(JSON.stringify({ type: 'error', message: answer.message }));
    }
  };
}
