import { useEffect, useState } from 'react';
import type { GraphList } from '../../../protocol/index.ts';
import type { RunSummary } from '../../../protocol/index.ts';
import { SHORTCUT_HELP } from '../core/shortcuts.ts';
import { useEditor, type DialogKind } from './context.ts';
import { TrashIcon } from './icons.tsx';
import { Modal } from './Modal.tsx';
import { useStore } from './use-store.ts';

/** The toolbar's dialogs, plus the message for a graph that could not be opened. */
export function Dialogs({ open, onClose }: { open?: DialogKind; onClose: () => void }) {
  const { session } = useEditor();
  const openError = useStore(session, (s) => s.openError);
  return (
    <>
      {open === 'open' && <OpenDialog onClose={onClose} />}
      {open === 'save' && <SaveDialog onClose={onClose} />}
      {open === 'runs' && <RunsDialog onClose={onClose} />}
      {open === 'help' && <HelpDialog onClose={onClose} />}
      {openError && (
        <Modal title={openError.title} onClose={() => session.dismissOpenError()}>
          <pre className="fc-open-error" data-testid="open-error">
            {openError.message}
          </pre>
          <p className="fc-muted">The current graph is unchanged.</p>
          <div className="fc-modal-actions">
            <button className="fc-btn primary" onClick={() => session.dismissOpenError()}>
              OK
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}

function OpenDialog({ onClose }: { onClose: () => void }) {
  const { session } = useEditor();
  const [list, setList] = useState<GraphList>();
  const [error, setError] = useState<string>();
  const reload = () => session.listGraphs().then(setList, (e: Error) => setError(e.message));
  useEffect(() => void reload(), []); // once, when the dialog opens

  return (
    <Modal title="Open a graph" onClose={onClose}>
      {error && <p className="fc-error-text">{error}</p>}
      {!list && !error && <p className="fc-muted">Loading…</p>}
      {list && (
        <div className="fc-open-lists">
          <section>
            <h3>Examples</h3>
            {list.examples.map((g) => (
              <button
                key={g.id}
                className="fc-list-item"
                data-example={g.id}
                title={g.about}
                onClick={() => {
                  onClose();
                  void session.openExample(g.id, g.name);
                }}
              >
                <span>{g.name}</span>
                <small>{g.id}</small>
                {g.about && <small className="fc-list-about">{g.about}</small>}
              </button>
            ))}
          </section>
          <section>
            <h3>Saved on the server</h3>
            {!list.user.length && <p className="fc-muted">Nothing saved yet (Ctrl+S).</p>}
            {list.user.map((g) => (
              <div key={g.id} className="fc-list-row">
                <button
                  className="fc-list-item"
                  data-user-graph={g.id}
                  onClick={() => {
                    onClose();
                    void session.openUserGraph(g.id);
                  }}
                >
                  <span>{g.name}</span>
                  <small>
                    {g.id}
                    {g.updated !== undefined && ` · ${new Date(g.updated).toLocaleString()}`}
                  </small>
                  {g.problem && <small className="fc-list-about fc-error-text">Cannot be opened: {g.problem}</small>}
                </button>
                <button
                  className="fc-icon-btn danger"
                  title={`Delete ${g.id}`}
                  onClick={async () => {
                    if (!confirm(`Delete the saved graph "${g.id}"?`)) return;
                    await session.deleteUserGraph(g.id);
                    void reload();
                  }}
                >
                  <TrashIcon />
                </button>
              </div>
            ))}
          </section>
        </div>
      )}
    </Modal>
  );
}

/** The server's run history; a click opens the graph that ran, with the run's node states and log. */
function RunsDialog({ onClose }: { onClose: () => void }) {
  const { session } = useEditor();
  const [runs, setRuns] = useState<RunSummary[]>();
  const [error, setError] = useState<string>();
  useEffect(() => void session.listRuns().then(setRuns, (e: Error) => setError(e.message)), [session]);

  return (
    <Modal title="Runs" onClose={onClose}>
      {error && <p className="fc-error-text">{error}</p>}
      {!runs && !error && <p className="fc-muted">Loading…</p>}
      {runs && !runs.length && <p className="fc-muted">No runs yet.</p>}
      {runs && runs.length > 0 && (
        <div className="fc-run-list">
          {runs.map((r) => (
            <div key={r.runId} className="fc-list-row">
              <button
                className="fc-list-item"
                data-run={r.runId}
                data-status={r.status}
                title="Open the graph that ran, with this run's node states and log"
                onClick={() => {
                  onClose();
                  void session.openRun(r.runId, r.graphName);
                }}
              >
                <span>
                  <span className={`fc-badge is-${r.status}`}>{r.status}</span> {r.graphName}
                </span>
                <small>
                  {r.queuedAt !== undefined && new Date(r.queuedAt).toLocaleString()}
                  {r.durationMs !== undefined && ` · ${(r.durationMs / 1000).toFixed(1)} s`}
                  {` · ${r.logCount} log line${r.logCount === 1 ? '' : 's'}`}
                </small>
                {(r.lastError ?? r.error) && (
                  <small className="fc-list-about fc-error-text">
                    {r.lastError ? `${r.lastError.nodeId ? `${r.lastError.nodeId}: ` : ''}${r.lastError.message}` : r.error}
                  </small>
                )}
              </button>
              {r.interrupted && (
                <button
                  className="fc-btn"
                  data-requeue={r.runId}
                  title="Queue this graph again as a new run (the server or worker stopped before it ended)"
                  onClick={() => {
                    onClose();
                    void session.requeueRun(r.runId, r.graphName);
                  }}
                >
                  Re-queue
                </button>
              )}
            </div>
          ))}
        </div>
      )}
    </Modal>
  );
}

function SaveDialog({ onClose }: { onClose: () => void }) {
  const { session, store } = useEditor();
  const suggested = session.getSnapshot().savedAs ?? slug(store.doc.name);
  const [id, setId] = useState(suggested);
  const valid = /^[A-Za-z0-9_-]{1,100}$/.test(id);
  const save = async () => {
    if (valid && (await session.saveToServer(id))) onClose();
  };
  return (
    <Modal title="Save on the server" onClose={onClose}>
      <label className="fc-form-row">
        <span>Name (letters, digits, _ and -)</span>
        <input className="fc-input" autoFocus value={id} onChange={(e) => setId(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && void save()} />
      </label>
      {!valid && <p className="fc-error-text">Use letters, digits, _ and - only.</p>}
      <div className="fc-modal-actions">
        <button className="fc-btn" onClick={onClose}>
          Cancel
        </button>
        <button className="fc-btn primary" disabled={!valid} onClick={() => void save()}>
          Save
        </button>
      </div>
    </Modal>
  );
}

function HelpDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard and mouse" onClose={onClose}>
      <table className="fc-help">
        <tbody>
          {SHORTCUT_HELP.map((s) => (
            <tr key={s.keys}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="fc-muted">
        Drop a graph JSON, or a PNG saved by FaceChain Studio, onto the canvas to open its graph. Drop any other image to upload it as an input.
      </p>
    </Modal>
  );
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'graph';
}
