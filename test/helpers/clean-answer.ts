import { expect } from 'vitest';

/** Text that gives away the machine: an absolute path, a stack frame, a zod issue dump. */
const LEAKS = [/(^|[\s"'(:=])\/(tmp|home|root|usr|etc|proc|var|work|opt)\b/, /\bat .*\(.*:\d+:\d+\)/, /node_modules/, /\n\s+at /, /"code":\s*"invalid_/, /[A-Za-z]:\\\\/];

/** Asserts an error answer has the wanted status class and a plain message that leaks nothing. */
export async function expectCleanError(res: Response, status: number | '4xx') {
  const text = await res.text();
  if (status === '4xx') expect(res.status, text).toBeGreaterThanOrEqual(400), expect(res.status, text).toBeLessThan(500);
  else expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type') ?? '', text).toMatch(/json/);
  const body = JSON.parse(text);
  expect(typeof body.error, text).toBe('string');
  expect(body.error.length, text).toBeGreaterThan(0);
  expectNoLeak(text);
  return body as { error: string; problems?: unknown[] };
}

export function expectNoLeak(text: string) {
  for (const leak of LEAKS) expect(text, `answer leaks ${leak}`).not.toMatch(leak);
}
