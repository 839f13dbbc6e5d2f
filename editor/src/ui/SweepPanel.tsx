import { useMemo, useState } from 'react';
import { cellValue, sortRows, tableColumns } from '../../../protocol/index.ts';
import { useEditor } from './context.ts';
import { useStore } from './use-store.ts';

const show = (v: number | string | undefined) => (v === undefined ? '-' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));

/** A sweep run's results table as its cells finish: click a header to sort, a row's image to view it; the grid once it ends. */
export function SweepPanel() {
  const { runs, api, showImages } = useEditor();
  const sweep = useStore(runs, (s) => s.sweep);
  const run = useStore(runs, (s) => s.run);
  const [sort, setSort] = useState<{ column: string; descending: boolean }>();
  const rows = useMemo(() => (sweep && sort ? sortRows(sweep.labels, sweep.rows, sort.column, sort.descending) : (sweep?.rows ?? [])), [sweep, sort]);
  if (!sweep) return null;
  const name = sweep.folder.split('/').pop()!;
  const file = (f: string) => api.url(`/api/sweeps/${encodeURIComponent(name)}/${encodeURIComponent(f)}`);
  const columns = tableColumns(sweep.labels, sweep.rows);
  const ended = run && (run.status === 'finished' || run.status === 'cancelled' || run.status === 'failed');
  return (
    <div className="fc-sweep" data-testid="sweep-panel">
      <div className="fc-sweep-head">
        Sweep <b>{name}</b>: {sweep.rows.length} cell run(s) · <a href={file('results.csv')}>results.csv</a> · <a href={file('summary.csv')}>summary.csv</a>
        {ended && (
          <>
            {' · '}
            <a href={file('grid.png')} target="_blank" rel="noreferrer" data-testid="sweep-grid">grid</a>
          </>
        )}
      </div>
      <table className="fc-sweep-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} onClick={() => setSort({ column: c, descending: sort?.column === c ? !sort.descending : false })}>
                {c}
                {sort?.column === c ? (sort.descending ? ' ▼' : ' ▲') : ''}
              </th>
            ))}
            <th>image</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              {columns.map((c) => (
                <td key={c}>{show(cellValue(sweep.labels, r, c))}</td>
              ))}
              <td>{r.image ? <button type="button" onClick={() => showImages([{ url: file(r.image!), label: r.image!, full: file(r.image!) }])}>view</button> : (r.error ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
