// What /api/health says about the compute runtime: the execution provider in use, the ones refused
// and why (one short line each), and the precision each SD part's session was made in.
import { partPrecisions, sdPrecision } from '../models/sd/fp16.ts';
import { ensureProviderChoice, providerSummary } from '../models/session/providers.ts';
import type { RuntimeInfo } from '../protocol/index.ts';

/** An absolute path in a reason becomes its file name: answers never show the machine's layout. */
const withoutPaths = (s: string) => s.replace(/\/(?:[^\s/:'"()]+\/)+([^\s/:'"()]*)/g, '$1');

export async function runtimeInfo(): Promise<RuntimeInfo> {
  try {
    const { provider, refused } = providerSummary(await ensureProviderChoice());
    return {
      provider,
      refused: refused.map((r) => ({ ...r, reason: withoutPaths(r.reason) })),
      precision: await sdPrecision(),
      parts: Object.fromEntries(Object.entries(partPrecisions()).map(([part, p]) => [part, { provider, ...p, ...(p.refused ? { refused: withoutPaths(p.refused) } : {}) }])),
    };
  } catch (e) {
    return { provider: null, error: withoutPaths((e as Error).message.split('\n')[0] ?? '') };
  }
}
