import { useReactFlow } from '@xyflow/react';
import { useEffect, useState } from 'react';
import { problemCount } from '../core/problems.ts';
import { centreOn } from './centre.ts';
import { useEditor } from './context.ts';
import { useStore } from './use-store.ts';

/** Bottom panel: the run's log and every validation problem; a click on a node name shows the node. */
export function LogPanel() {
  const { runs, store, session } = useEditor();
  const rf = useReactFlow();
  const run = useStore(runs, (s) => s.run);
  const problems = useStore(runs, (s) => s.problems);
  const interrupted = useStore(runs, (s) => s.interrupted);
  const count = problemCount(problems);
  const [open, setOpen] = useState(false);
  const failed = run?.status === 'failed';

  // Problems and failures open the panel; the user closes it.
  useEffect(() => {
    if (count || failed) setOpen(true);
  }, [count, failed]);

  /** Shows the node a line names: inside the components on its path (`portrait/preprocess/detect`), selected and centred. */
  const focus = (id: string) => {
    const before = store.getSnapshot().path;
    if (!store.reveal(id)) return;
    const snap = store.getSnapshot();
    // Entering another level: the canvas centres the selected node once it shows that level.
    if (snap.path !== before) return;
    const node = snap.level.nodes.find((n) => n.id === id.split('/').pop());
    if (node) centreOn(rf, node);
  };
  const logs = run?.logs ?? [];

  return (
    <div className={`fc-log${open ? ' is-open' : ''}`}>
      <button className="fc-log-head" onClick={() => setOpen(!open)}>
        <span className="fc-caret">{open ? '▾' : '▸'}</span>
        Log
        {count > 0 && <span className="fc-pill is-error">{count} problem{count === 1 ? '' : 's'}</span>}
        {logs.length > 0 && <span className="fc-pill">{logs.length}</span>}
        {run?.error && <span className="fc-log-error-inline">{run.error}</span>}
      </button>
      {open && (
        <div className="fc-log-body" data-testid="log">
          {run && interrupted === run.runId && (
            <div className="fc-log-line">
              <button className="fc-btn" data-requeue-log={run.runId} title="Queue this graph again as a new run" onClick={() => void session.requeueRun(run.runId, store.doc.name)}>
                Re-queue
              </button>{' '}
              The server or worker stopped before this run ended.
            </div>
          )}
          {problems.graph.map((m) => (
            <div key={m} className="fc-log-line is-error">
              {m}
            </div>
          ))}
          {Object.entries(problems.nodes).flatMap(([id, p]) =>
            [...p.general, ...Object.entries(p.params).flatMap(([f, ms]) => ms.map((m) => `${f}: ${m}`)), ...Object.entries(p.inputs).flatMap(([f, ms]) => ms.map((m) => `input ${f}: ${m}`))].map((m) => (
              <div key={`${id}${m}`} className="fc-log-line is-error">
                <button className="fc-link" onClick={() => focus(id)}>
                  {id}
                </button>{' '}
                {m}
              </div>
            )),
          )}
          {logs.map((l, i) => (
            <div key={i} className={`fc-log-line is-${l.level}`}>
              <span className="fc-muted">{new Date(l.time).toLocaleTimeString()}</span>{' '}
              {l.nodeId && (
                <button className="fc-link" onClick={() => focus(l.nodeId!)}>
                  {l.nodeId}
                </button>
              )}{' '}
              {l.message}
            </div>
          ))}
          {!count && !logs.length && <div className="fc-muted">Nothing yet. Run the graph to see its log here.</div>}
        </div>
      )}
    </div>
  );
}
