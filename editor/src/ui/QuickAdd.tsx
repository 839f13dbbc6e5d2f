import { useReactFlow } from '@xyflow/react';
import { useEffect, useMemo, useState } from 'react';
import type { PortType } from '../../../protocol/index.ts';
import type { PortSide } from '../core/catalog-index.ts';
import { catalogType } from '../core/component-catalog.ts';
import { NODE_WIDTH } from '../core/node-size.ts';
import { useEditor } from './context.ts';

export interface QuickAddRequest {
  at: { x: number; y: number };
  /** A wire dropped on the canvas: only nodes that can take it are offered, and the new node gets it. */
  wire?: { node: string; port: string; side: PortSide };
}

/** Search box at the cursor: type, arrow keys, Enter adds the node there. */
export function QuickAdd({ request, onClose }: { request: QuickAddRequest; onClose: () => void }) {
  const { catalog, store, notices } = useEditor();
  const rf = useReactFlow();
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const wireType = useMemo(() => {
    const w = request.wire;
    const node = w && store.level.nodes.find((n) => n.id === w.node);
    const type = node && catalogType(node);
    return w && type ? catalog.port(type, w.side, w.port)?.type : undefined;
  }, [request, store, catalog]);
  const hits = useMemo(
    () => catalog.groups(query, request.wire && wireType ? { side: request.wire.side, type: wireType as PortType } : undefined).flatMap((g) => g.nodes),
    [catalog, query, request.wire, wireType],
  );

  useEffect(() => setActive(0), [query]);

  const add = (type: string) => {
    const p = rf.screenToFlowPosition(request.at);
    const w = request.wire;
    // A wire from an output lands on the new node's left edge, one from an input on its right edge.
    const at = w?.side === 'in' ? { x: p.x - NODE_WIDTH, y: p.y - 40 } : { x: p.x, y: p.y - 40 };
    if (w) {
      const { check } = store.addNodeWired(type, at, w);
      if (check && !check.ok) notices.push('warn', `Not connected: ${check.reason}`);
    } else store.addNode(type, at);
    onClose();
  };

  const left = Math.min(request.at.x, window.innerWidth - 340);
  const top = Math.min(request.at.y, window.innerHeight - 380);
  return (
    <div className="fc-backdrop clear" onPointerDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="fc-popup fc-quick" style={{ left, top }}>
        <input
          className="fc-input"
          autoFocus
          placeholder={wireType ? `Add a node that takes ${wireType}…` : 'Add a node…'}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') onClose();
            else if (e.key === 'ArrowDown') setActive((a) => Math.min(a + 1, hits.length - 1));
            else if (e.key === 'ArrowUp') setActive((a) => Math.max(a - 1, 0));
            else if (e.key === 'Enter' && hits[active]) add(hits[active].type);
            else return;
            e.preventDefault();
          }}
        />
        <div className="fc-quick-list">
          {hits.map((n, i) => (
            <button key={n.type} className={`fc-quick-item${i === active ? ' is-active' : ''}`} onMouseEnter={() => setActive(i)} onClick={() => add(n.type)}>
              <span>{n.title}</span>
              <small>{n.category}</small>
            </button>
          ))}
          {!hits.length && <div className="fc-muted fc-pad">No node {wireType ? `takes ${wireType}` : 'matches'}.</div>}
        </div>
      </div>
    </div>
  );
}
