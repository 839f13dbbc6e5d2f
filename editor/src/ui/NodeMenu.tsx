import { useEffect } from 'react';
import { COMPONENT_TYPE } from '../../../protocol/index.ts';
import { catalogType } from '../core/component-catalog.ts';
import { useEditor } from './context.ts';

export interface NodeMenuState {
  x: number;
  y: number;
  nodeId: string;
}

/** Right-click menu of a node. */
export function NodeMenu({ menu, onClose }: { menu: NodeMenuState; onClose: () => void }) {
  const { store, session, catalog, notices } = useEditor();
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
  const snap = store.getSnapshot();
  const many = snap.selectedNodes.size > 1;
  const node = snap.level.nodes.find((n) => n.id === menu.nodeId);
  const makeComponent = () => {
    const name = window.prompt('Name of the new component', 'Component');
    if (name?.trim()) store.makeComponent(name.trim());
  };
  // Inside a component: one of this node's params becomes a param of the component.
  const exposeParam = () => {
    const keys = node ? catalog.fields(catalogType(node)).map((f) => f.key) : [];
    const param = window.prompt(`Param of "${menu.nodeId}" to expose (${keys.join(', ')})`, keys[0]);
    if (!param || !keys.includes(param)) return void (param && notices.push('warn', `"${menu.nodeId}" has no param "${param}"`));
    const name = window.prompt('Name of the param on the component', param);
    if (name?.trim() && !store.exposeParam(menu.nodeId, param, name)) notices.push('warn', `The component already has a param "${name}"`);
  };
  const library = session.getSnapshot().library;
  function componentItems(component: string): [string, () => void][] {
    const own = snap.doc.components?.[component]?.library;
    const newest = own && library?.find((c) => c.id === own.id)?.version;
    return [
      ['Edit inside', () => store.enter(menu.nodeId)],
      ['Save to library', () => void session.saveToLibrary(component)],
      ...(own && newest && newest > own.version ? ([[`Update to version ${newest}`, () => void session.updateFromLibrary(component)]] as [string, () => void][]) : []),
    ];
  }
  const items: [string, () => void][] = [
    ['Run up to here', () => void session.run([snap.prefix + menu.nodeId])],
    ...(node?.type === COMPONENT_TYPE && node.component ? componentItems(node.component) : []),
    ['Make component…', makeComponent],
    ...(snap.path.length && node?.type !== COMPONENT_TYPE ? ([['Expose param…', exposeParam]] as [string, () => void][]) : []),
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

