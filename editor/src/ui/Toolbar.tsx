import { useEffect, useRef, useState } from 'react';
import { graphFileName, graphToText } from '../core/graph-io.ts';
import { runSeconds, type RunView, type RuntimeInfo } from '../../../protocol/index.ts';
import { useEditor } from './context.ts';
import { useStore } from './use-store.ts';

/** Top bar: file actions, graph name, undo/redo, run and cancel with the run's status. */
export function Toolbar() {
  const editor = useEditor();
  const { store, session, runs } = editor;
  const name = useStore(store, (s) => s.doc.name);
  const undo = useStore(store, (s) => (s.canUndo ? s.undoLabel : undefined));
  const redo = useStore(store, (s) => (s.canRedo ? s.redoLabel : undefined));
  const savedAs = useStore(session, (s) => s.savedAs);
  const run = useStore(runs, (s) => s.run);
  const live = useStore(runs, (s) => s.live);
  const fileInput = useRef<HTMLInputElement>(null);
  const active = run && ['starting', 'queued', 'running'].includes(run.status);

  const download = () => {
    const url = URL.createObjectURL(new Blob([graphToText(store.doc)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = graphFileName(store.doc);
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <header className="fc-toolbar">
      <div className="fc-logo" title="FaceChain Studio">
        <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden>
          <circle cx="16" cy="13" r="6" fill="none" stroke="#8e7cff" strokeWidth="2.5" />
          <path d="M7 27c2-5 5.5-7 9-7s7 2 9 7" fill="none" stroke="#4fc3f7" strokeWidth="2.5" strokeLinecap="round" />
        </svg>
        <span>FaceChain Studio</span>
      </div>
      <GraphName name={name} onRename={(n) => store.rename(n)} />
      {savedAs && <span className="fc-saved-as" title="Ctrl+S saves here">saved as {savedAs}</span>}
      <div className="fc-tool-group">
        <button className="fc-btn" onClick={() => editor.openDialog('open')} title="Open an example or a saved graph (Ctrl+O)">
          Open
        </button>
        <button className="fc-btn" onClick={() => fileInput.current?.click()} title="Open a graph JSON, or a PNG saved by FaceChain Studio">
          Import…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json,image/png"
          hidden
          data-testid="import-file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) session.openFile(new Uint8Array(await f.arrayBuffer()), f.name);
          }}
        />
        <button className="fc-btn" onClick={() => (savedAs ? void session.saveToServer(savedAs) : editor.openDialog('save'))} title="Save on the server (Ctrl+S)">
          Save
        </button>
        <button className="fc-btn" onClick={() => editor.openDialog('save')} title="Save on the server under a new name">
          Save as…
        </button>
        <button className="fc-btn" onClick={download} title="Download the graph as JSON">
          Download
        </button>
      </div>
      <div className="fc-tool-group">
        <button className="fc-icon-btn" disabled={!undo} onClick={() => store.undo()} title={undo ? `Undo ${undo} (Ctrl+Z)` : 'Nothing to undo'} aria-label="Undo">
          ↶
        </button>
        <button className="fc-icon-btn" disabled={!redo} onClick={() => store.redo()} title={redo ? `Redo ${redo} (Ctrl+Shift+Z)` : 'Nothing to redo'} aria-label="Redo">
          ↷
        </button>
      </div>
      <div className="fc-spacer" />
      <RuntimeBadge refresh={run?.status} />
      {run && <RunStatus run={run} />}
      <button className="fc-btn" onClick={() => editor.openDialog('runs')} title="Earlier runs: open the graph that ran, with its node states and log">
        Runs
      </button>
      <button className="fc-btn" onClick={() => void session.check()} title="Validate the graph on the server without running it">
        Check
      </button>
      <button className="fc-btn primary fc-run" onClick={() => void session.run()} disabled={!!active} title="Run the graph (Ctrl+Enter)">
        ▶ Run
      </button>
      <button className="fc-btn danger" onClick={() => void session.cancel()} disabled={!active} title="Cancel the run (Ctrl+Shift+Enter)">
        ■ Cancel
      </button>
      <span className={`fc-live is-${live}`} title={`Live updates: ${live}`} />
      <button className="fc-icon-btn" onClick={() => editor.openDialog('help')} title="Keyboard shortcuts (?)" aria-label="Help">
        ?
      </button>
    </header>
  );
}

/** The execution provider and SD precision the server computes with; the title says why others were refused. */
function RuntimeBadge({ refresh }: { refresh: unknown }) {
  const { api } = useEditor();
  const [info, setInfo] = useState<RuntimeInfo>();
  useEffect(() => {
    let live = true;
    api.health().then((h) => live && setInfo(h.runtime), () => undefined);
    return () => {
      live = false;
    };
  }, [api, refresh]);
  if (!info) return null;
  if (info.provider === null) return <span className="fc-runtime is-error" title={info.error}>no provider</span>;
  const lines = [
    ...info.refused.map((r) => `${r.provider}: ${r.reason}`),
    ...Object.entries(info.parts).map(([part, p]) => `${part}: ${p.provider} ${p.precision}${p.memory ? ` ${p.memory}` : ''}${p.refused ? ` (${p.refused})` : ''}`),
  ];
  return (
    <span className="fc-runtime" data-testid="runtime" title={lines.join('\n') || undefined}>
      {info.provider} · {info.precision}
    </span>
  );
}

function GraphName({ name, onRename }: { name: string; onRename: (n: string) => void }) {
  const [draft, setDraft] = useState<string>();
  return (
    <input
      className="fc-graph-name"
      value={draft ?? name}
      aria-label="Graph name"
      title="Graph name"
      onChange={(e) => setDraft(e.target.value)}
      onBlur={() => {
        if (draft !== undefined && draft !== name) onRename(draft);
        setDraft(undefined);
      }}
      onKeyDown={(e) => e.key === 'Enter' && e.currentTarget.blur()}
    />
  );
}

const STATUS_TEXT: Record<RunView['status'], string> = {
  starting: 'starting',
  queued: 'queued',
  running: 'running',
  finished: 'finished',
  failed: 'failed',
  cancelled: 'cancelled',
};

function RunStatus({ run }: { run: RunView }) {
  const [now, setNow] = useState(() => Date.now());
  const going = run.status === 'running';
  useEffect(() => {
    if (!going) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [going]);
  const nodes = Object.values(run.nodes);
  const done = nodes.filter((n) => n.state === 'done' || n.state === 'cached').length;
  const secs = runSeconds(run, now);
  return (
    <div className={`fc-run-status is-${run.status}`} data-status={run.status} title={run.error}>
      <span className="fc-run-dot" />
      <span>{STATUS_TEXT[run.status]}</span>
      {run.status === 'queued' && run.position !== undefined && <span className="fc-muted">#{run.position + 1} in queue</span>}
      {nodes.length > 0 && (
        <span className="fc-muted">
          {done}/{nodes.length} nodes
        </span>
      )}
      {secs !== undefined && <span className="fc-muted">{secs.toFixed(1)} s</span>}
    </div>
  );
}
