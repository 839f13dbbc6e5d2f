import { useEffect, useState } from 'react';
import type { Api } from '../core/api.ts';
import { liveUrl } from '../core/live.ts';
import { createWorkbench, type Workbench } from '../core/workbench.ts';
import { App } from './App.tsx';

const objectUrls = {
  create: (bytes: Uint8Array, mime: string) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime })),
  revoke: (url: string) => URL.revokeObjectURL(url),
};

/** Loads the catalog (the editor knows node types only from the server), then opens the last draft (or the first example). */
export function Boot({ api }: { api: Api }) {
  const [bench, setBench] = useState<Workbench>();
  const [error, setError] = useState<string>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    api
      .catalog()
      .then(async (catalog) => {
        if (cancelled) return;
        const wb = createWorkbench(api, catalog, { storage: localStorage, urls: objectUrls, liveUrl: liveUrl(location.href) });
        await wb.session.start();
        if (!cancelled) setBench(wb);
      })
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [api, attempt]);

  useEffect(() => () => bench?.live.close(), [bench]);

  if (bench) return <App bench={bench} api={api} />;
  return (
    <div className="fc-boot">
      <div className="fc-boot-card">
        <div className="fc-logo-big">FaceChain Studio</div>
        {error ? (
          <>
            <p className="fc-boot-error">{error}</p>
            <button className="fc-btn primary" onClick={() => (setError(undefined), setAttempt((a) => a + 1))}>
              Try again
            </button>
          </>
        ) : (
          <p>Loading the node catalog…</p>
        )}
      </div>
    </div>
  );
}
