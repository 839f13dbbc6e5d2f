import { useEffect } from 'react';
import { useEditor } from './context.ts';

export interface NodeMenuState {
  x: number;
  y: number;
  nodeId: string;
}

/** Right-click menu of a node. */
export function NodeMenu({ menu, onClose }: { menu: NodeMenuState; onClose: () => void }) {
  const { store, session } = useEditor();
  useEffect(() => {
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent && e.key !== 'Escape') return;
      onClose();
    };
    window.addEventListener('pointerdown', close);
    window.addEventListener('keydown', close);
    window.addEventListener('wheel', close);
    return () => {
      window.removeEventListener('pointerdown', close);
      window.removeEventListener('keydown', close);
      window.removeEventListener('wheel', close);
    };
  }, [onClose]);

  const act = (fn: () => void) => () => {
    fn();
    onClose();
  };
  const many = store.getSnapshot().selectedNodes.size > 1;
  const items: [string, () => void][] = [
    ['Run up to here', () => void session.run([menu.nodeId])],
    ['Duplicate', () => store.duplicateSelection()],
    [many ? 'Delete selected nodes' : 'Delete', () => store.deleteSelection()],
  ];
  return (
    <div className="fc-popup fc-menu" style={{ left: menu.x, top: menu.y }} onPointerDown={(e) => e.stopPropagation()}>
      {items.map(([label, fn]) => (
        <button key={label} className="fc-menu-item" onClick={act(fn)}>
          {label}
        </button>
      ))}
    </div>
  );
}

