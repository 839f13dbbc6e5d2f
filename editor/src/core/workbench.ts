import type { Catalog } from '../../../protocol/index.ts';
import type { Api } from './api.ts';
import { CatalogIndex } from './catalog-index.ts';
import { EditorStore } from './editor-store.ts';
import { LiveConnection, type LiveStatus } from './live.ts';
import { Notices } from './notices.ts';
import { RunStore, type ImageUrls } from './run-store.ts';
import { Session } from './session.ts';

export interface Workbench {
  catalog: CatalogIndex;
  store: EditorStore;
  runs: RunStore;
  session: Session;
  notices: Notices;
  live: LiveConnection;
}

export interface WorkbenchEnv {
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  urls: ImageUrls;
  /** ws:// URL of the event stream. */
  liveUrl: string;
}

/** Builds the editor's objects for a loaded catalog and wires the live stream into the run store. */
export function createWorkbench(api: Api, catalog: Catalog, env: WorkbenchEnv): Workbench {
  const index = new CatalogIndex(catalog);
  const store = new EditorStore(index);
  const runs = new RunStore(api, env.urls);
  const notices = new Notices();
  const session = new Session(api, store, runs, notices, env.storage);
  let last: LiveStatus = 'connecting';
  const live = new LiveConnection(env.liveUrl, api.token, {
    event: (e) => runs.handleEvent(e),
    preview: (f) => runs.handlePreview(f),
    status: (s) => {
      // Back after a drop: rebuild the running run from its events (it went on meanwhile).
      const run = runs.getSnapshot().run;
      if (s === 'open' && last === 'closed' && run && runs.active) void runs.resume(run.runId);
      last = s;
      runs.setLive(s);
    },
  });
  runs.replay = (runId) => live.replay(runId);
  return { catalog: index, store, runs, session, notices, live };
}
