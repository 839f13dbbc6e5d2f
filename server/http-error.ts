import type { Problem } from '../protocol/index.ts';
import { PathEscapeError } from '../runtime/data-folder.ts';

/** An error with the HTTP status the client should see. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: Problem[],
  ) {
    super(message);
  }
}

/** File-system error codes a client's request can cause, with what it is told (never the path). */
const FS_ERRORS: Record<string, [number, string]> = {
  ENOENT: [404, 'No such file'],
  EISDIR: [400, 'That is a folder, not a file'],
  ENOTDIR: [400, 'A part of that path is not a folder'],
  ELOOP: [400, 'That path is a symbolic link, which is not followed'],
  ENAMETOOLONG: [400, 'That name is too long'],
};

/**
 * What a client is told about any error: its status and a message with no machine path or stack.
 * HttpErrors say what they say; body-parser's 4xx errors (bad JSON, bad gzip, bad charset) keep their
 * status with a fixed text; a bad percent-encoding in the URL is a 400; everything else is a 500 whose
 * details only the server log gets (`unexpected` tells the caller to log them).
 */
export function toHttpError(err: unknown): HttpError & { unexpected?: true } {
  if (err instanceof HttpError) return err;
  if (err instanceof PathEscapeError) return new HttpError(400, err.message);
  if (err instanceof URIError) return new HttpError(400, 'The URL has a bad percent-encoding');
  const e = (err ?? {}) as { status?: unknown; type?: unknown; code?: unknown; limit?: unknown };
  if (e.type === 'entity.too.large' && typeof e.limit === 'number') {
    return new HttpError(413, `Request body is too large: the limit for this endpoint is ${e.limit} bytes (${(e.limit / 1024 ** 2).toFixed(0)} MB)`);
  }
  if (e.type === 'entity.parse.failed') return new HttpError(400, `The request body is not valid JSON: ${(err as Error).message}`);
  // body-parser's other 4xx errors, a bad gzip body among them (that one has no type).
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, BODY_ERRORS[String(e.type)] ?? 'The request body cannot be read (bad compression or encoding)');
  }
  const fs = typeof e.code === 'string' ? FS_ERRORS[e.code] : undefined;
  if (fs) return new HttpError(...fs);
  return Object.assign(new HttpError(500, 'Internal error (the server log has the details)'), { unexpected: true as const });
}

/** body-parser's error types, as a client is told them. */
const BODY_ERRORS: Record<string, string> = {
  'encoding.unsupported': 'Unsupported Content-Encoding (send identity, gzip, deflate or br)',
  'charset.unsupported': 'Unsupported charset (send UTF-8)',
  'request.aborted': 'The request was aborted',
  'request.size.invalid': 'The request body is shorter or longer than its Content-Length',
  'stream.encoding.set': 'The request body cannot be read',
};

/** The message a client sees for `err` (see toHttpError). */
export function clientMessage(err: unknown): string {
  return toHttpError(err).message;
}
