import { useReactFlow } from '@xyflow/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { CatalogNode } from '../../../protocol/index.ts';
import { NODE_WIDTH } from '../core/node-size.ts';
import { useEditor } from './context.ts';
import { useStore } from './use-store.ts';

export const PALETTE_MIME = 'application/x-facechain-node';

/** Node types from the catalog by category; search, drag onto the canvas or double-click to add. */
export function Palette() {
  const { catalog, store, session } = useEditor();
  const rf = useReactFlow();
  const [query, setQuery] = useState('');
  const [closed, setClosed] = useState<ReadonlySet<string>>(new Set());
  const added = useRef(0);
  const groups = useMemo(() => catalog.groups(query), [catalog, query]);
  const library = useStore(session, (s) => s.library);
  useEffect(() => void session.refreshLibrary(), [session]);
  const shelf = useMemo(() => (library ?? []).filter((c) => !query || `${c.name ?? ''} ${c.id} ${c.description ?? ''}`.toLowerCase().includes(query.toLowerCase())), [library, query]);


  /** Double-click: the middle of the visible canvas, cascading so repeated adds do not stack exactly. */
  const spot = () => {
    const box = document.querySelector('.fc-canvas')?.getBoundingClientRect();
    const centre = box ? { x: box.left + box.width / 2, y: box.top + box.height / 3 } : { x: 400, y: 300 };
    const p = rf.screenToFlowPosition(centre);
    const k = added.current++ % 6;
    return { x: p.x - NODE_WIDTH / 2 + k * 30, y: p.y + k * 30 };
  };
  const add = (type: string) => store.addNode(type, spot());

  const toggle = (c: string) => {
    const next = new Set(closed);
    if (next.has(c)) next.delete(c);
    else next.add(c);
    setClosed(next);
  };

  return (
    <aside className="fc-palette" aria-label="Node palette">
      <div className="fc-palette-search">
        <input className="fc-input" type="search" placeholder="Search nodes…" value={query} onChange={(e) => setQuery(e.target.value)} aria-label="Search nodes" />
      </div>
      <div className="fc-palette-list">
        {shelf.length > 0 && (
          <section className="fc-palette-group" data-testid="library">
            <button className="fc-palette-category" onClick={() => toggle('library')} aria-expanded={!closed.has('library') || !!query}>
              <span className="fc-caret">{closed.has('library') && !query ? '▸' : '▾'}</span>
              library
              <span className="fc-count">{shelf.length}</span>
            </button>
            {(!closed.has('library') || query) &&
              shelf.map((c) => (
                <div
                  key={c.id}
                  className={`fc-palette-item${c.problem ? ' is-broken' : ''}`}
                  data-library-id={c.id}
                  title={c.problem ?? `${c.description ?? 'Component from the library'}\n\n${c.id} version ${c.version}`}
                  onDoubleClick={() => !c.problem && void session.addFromLibrary(c.id, spot())}
                >
                  <div className="fc-palette-title">
                    {c.name ?? c.id} <span className="fc-muted">v{c.version ?? '?'}</span>
                  </div>
                </div>
              ))}
          </section>
        )}
        {groups.map((g) => (
          <section key={g.category} className="fc-palette-group">
            <button className="fc-palette-category" onClick={() => toggle(g.category)} aria-expanded={!closed.has(g.category) || !!query}>
              <span className="fc-caret">{closed.has(g.category) && !query ? '▸' : '▾'}</span>
              {g.category}
              <span className="fc-count">{g.nodes.length}</span>
            </button>
            {(!closed.has(g.category) || query) && g.nodes.map((n) => <PaletteItem key={n.type} node={n} onAdd={add} />)}
          </section>
        ))}
        {!groups.length && <p className="fc-muted fc-pad">No node matches “{query}”.</p>}
      </div>
      <div className="fc-palette-foot">Drag onto the canvas or double-click. Press ? for shortcuts.</div>
    </aside>
  );
}

function PaletteItem({ node, onAdd }: { node: CatalogNode; onAdd: (type: string) => void }) {
  const { catalog } = useEditor();
  return (
    <div
      className="fc-palette-item"
      draggable
      data-type={node.type}
      title={`${node.description}\n\n${node.type}`}
      onDragStart={(e) => {
        e.dataTransfer.setData(PALETTE_MIME, node.type);
        e.dataTransfer.effectAllowed = 'move';
      }}
      onDoubleClick={() => onAdd(node.type)}
    >
      <div className="fc-palette-title">{node.title}</div>
      <div className="fc-palette-ports">
        {node.inputs.map((p) => (
          <span key={`i${p.name}`} className="fc-dot" style={{ background: catalog.colour(p.type) }} title={`in ${p.name}: ${p.type}`} />
        ))}
        {node.inputs.length > 0 && node.outputs.length > 0 && <span className="fc-arrow">→</span>}
        {node.outputs.map((p) => (
          <span key={`o${p.name}`} className="fc-dot" style={{ background: catalog.colour(p.type) }} title={`out ${p.name}: ${p.type}`} />
        ))}
      </div>
    </div>
  );
}
