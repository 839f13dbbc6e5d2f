// The executor's session cache: every model session its nodes open (SD parts, face models, training
// graphs) goes through it, so a server, a CLI run, a worker and each test have their own.
import { SessionManager } from '../models/session/manager.ts';
import type { RunContext } from '../runtime/node.ts';

declare module '../runtime/node.ts' {
  interface Services {
    /** Model sessions shared across this executor's nodes and runs (models/session/manager.ts). */
    sessions?: SessionManager;
  }
}

export function sessionCache(ctx: Pick<RunContext, 'services'>): SessionManager {
  ctx.services.sessions ??= new SessionManager();
  return ctx.services.sessions;
}
