import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Refuses to expose the server beyond this machine without a token. */
export function assertBindAllowed(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new Error(`Binding ${host} exposes the server to the network: set FACECHAIN_TOKEN (or --token) first`);
  }
}

/** The token a request carries: `Authorization: Bearer <t>` or `?token=<t>`. */
export function requestToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
}

function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Refusal {
  status: 401 | 403;
  message: string;
}

/**
 * Whether a REST call or WebSocket upgrade may go on. With a token: whoever carries it. Without one the
 * server listens on loopback only, but any web page in the user's browser can still reach it, so the
 * request must name this machine as its Host (DNS rebinding names another), and a browser's Origin must
 * be that same address: a page the server itself served, however it was reached (a forwarded port, the
 * editor dev server's proxy). A client that sends no Origin is not a browser.
 */
export function refusal(req: IncomingMessage, token: string | undefined): Refusal | undefined {
  if (token) return tokenMatches(token, requestToken(req)) ? undefined : { status: 401, message: 'Missing or wrong token' };
  const { host, origin } = req.headers;
  if (host !== undefined && !loopbackUrl(`http://${host}`)) {
    return {
      status: 403,
      message: `Host "${host}" is not this machine: without a token the server answers only requests to 127.0.0.1, localhost or [::1] (set FACECHAIN_TOKEN to serve other names)`,
    };
  }
  if (origin !== undefined && !(host !== undefined && loopbackUrl(origin)?.host === new URL(`http://${host}`).host)) {
    return {
      status: 403,
      message: `Origin "${origin}" is not the address this request was sent to: without a token the server answers only its own pages (set FACECHAIN_TOKEN to allow others)`,
    };
  }
  return undefined;
}

/** The URL when it parses and names a loopback host, else undefined. */
function loopbackUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  return isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1')) ? url : undefined;
}
