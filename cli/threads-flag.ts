import { parseThreads } from '../models/session/threads.ts';

/** `--threads N`, else FACECHAIN_THREADS, checked before any work starts (undefined: the physical cores). */
export function threadsFlag(flag: string | undefined): number | undefined {
  return parseThreads(flag) ?? parseThreads(process.env.FACECHAIN_THREADS, 'FACECHAIN_THREADS');
}
