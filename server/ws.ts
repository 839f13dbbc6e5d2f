import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { encodePreviewFrame } from '../runtime/preview-frame.ts';
import { refusal } from './auth.ts';
import type { RunHistory } from './run-history.ts';
import type { RunQueue } from './run-queue.ts';

const ClientMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('subscribe'), runId: z.string().optional() })]);

/** WebSocket endpoint: every client gets the event stream (JSON) and previews (binary frames). */
export function attachWebSocket(server: Server, queue: RunQueue, history: RunHistory, token: string | undefined): WebSocketServer {
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

  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ type: 'hello', version: 1 }));
    follow(socket, new URL(req.url ?? '/', 'http://x').searchParams.get('runId') ?? undefined);
    socket.on('message', (raw, isBinary) => {
      const msg = isBinary ? undefined : ClientMessage.safeParse(safeJson(raw.toString()));
      if (!msg?.success) {
        socket.send(JSON.stringify({ type: 'error', message: 'Send {"type":"subscribe","runId"?: string}' }));
        return;
      }
      follow(socket, msg.data.runId);
    });
    socket.on('close', () => filters.delete(socket));
    socket.on('error', () => filters.delete(socket));
  });

  const unsubscribe = queue.subscribe((event, preview) => {
    const text = JSON.stringify(event);
    const frame = preview && event.type === 'node.preview' ? encodePreviewFrame(
      { runId: event.runId, nodeId: event.nodeId, previewId: event.previewId, index: event.index, mime: event.mime, width: event.width, height: event.height },
      preview.data,
    ) : undefined;
    for (const [socket, runId] of filters) {
      if (runId && runId !== event.runId) continue;
      if (socket.readyState !== socket.OPEN) continue;
      // A slow client drops previews rather than growing the server's memory.
      if (frame && socket.bufferedAmount > 8 * 1024 * 1024) continue;
      socket.send(text);
      if (frame) socket.send(frame, { binary: true });
    }
  });
  wss.on('close', unsubscribe);
  return wss;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
