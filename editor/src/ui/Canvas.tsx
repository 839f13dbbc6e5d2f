import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore as useFlowStore,
  type Connection,
  type Edge as RfEdge,
  type FinalConnectionState,
  type OnConnectEnd,
  type Viewport,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type MouseEvent, type RefObject } from 'react';
import { checkConnection, type PortRef } from '../core/connections.ts';
import { catalogType } from '../core/component-catalog.ts';
import { FlowMapper, type FlowNode } from '../core/flow-mapping.ts';
import { fitViewport } from '../core/node-size.ts';
import { centreOn } from './centre.ts';
import { useEditor } from './context.ts';
import { ConnectionLine } from './ConnectionLine.tsx';
import { NodeMenu, type NodeMenuState } from './NodeMenu.tsx';
import { DETAIL_ZOOM, GraphNode } from './GraphNode.tsx';
import { PALETTE_MIME } from './Palette.tsx';
import { useCanvasCommands } from './use-canvas-commands.ts';
import { useFileDrop } from './use-file-drop.ts';
import { useStore } from './use-store.ts';

const nodeTypes = { graph: GraphNode };
const canvasSize = () => document.querySelector('.fc-canvas')?.getBoundingClientRect() ?? { width: window.innerWidth - 240, height: window.innerHeight - 80 };
const ends = (c: Connection | RfEdge): [PortRef, PortRef] => [
  { node: c.source, port: c.sourceHandle ?? '' },
  { node: c.target, port: c.targetHandle ?? '' },
];

export function Canvas() {
  const editor = useEditor();
  const { store, session, notices, catalog, runs } = editor;
  const rf = useReactFlow<FlowNode>();
  const snap = useStore(store, (s) => s);
  const fitRequest = useStore(session, (s) => s.fitRequest);
  const running = useStore(runs, (s) => s.run?.status === 'running');
  const zoomedOut = useFlowStore((s) => s.transform[2] < DETAIL_ZOOM);
  const mapper = useMemo(() => new FlowMapper(catalog), [catalog]);
  const nodes = useMemo(() => mapper.nodes(snap), [mapper, snap]);
  const edges = useMemo(() => mapper.edges(snap), [mapper, snap]);
  const [menu, setMenu] = useState<NodeMenuState>();
  const pointer = useRef<{ x: number; y: number }>(undefined);

  useCanvasCommands(pointer);
  const onDropFiles = useFileDrop();

  // The first viewport: where the user left the draft, else one that fits the graph (estimated sizes).
  const [initialViewport] = useState(() => session.draftViewport ?? fitViewport(store.doc, catalog, canvasSize()));
  useEffect(() => {
    session.beforeOpen = (graph) => void rf.setViewport(fitViewport(graph, catalog, canvasSize()));
    return () => {
      session.beforeOpen = undefined;
    };
  }, [rf, session, catalog]);

  useEffect(() => {
    if (fitRequest) void rf.fitView({ padding: 0.12, maxZoom: 1.1 });
  }, [fitRequest, rf]);

  // Entering or leaving a component shows another level: frame it, or centre the one node selected
  // there (the log's link to a node inside a component).
  const shownPath = useRef(snap.path);
  useEffect(() => {
    if (shownPath.current === snap.path) return;
    shownPath.current = snap.path;
    const [only] = snap.selectedNodes.size === 1 ? snap.selectedNodes : [];
    const node = only === undefined ? undefined : snap.level.nodes.find((n) => n.id === only);
    if (node) centreOn(rf, node, 0);
    else void rf.fitView({ padding: 0.12, maxZoom: 1.1 });
  }, [snap, rf]);

  const isValidConnection = useCallback(
    (c: Connection | RfEdge) => checkConnection(store.level, catalog, ...ends(c)).ok,
    [store, catalog],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const r = store.connect(...ends(c));
      if (!r.ok) notices.push('warn', `Not connected: ${r.reason}`);
    },
    [store, notices],
  );

  /** A refused drop says why; a wire dropped on empty canvas offers the nodes that can take it. */
  const onConnectEnd: OnConnectEnd = useCallback(
    (event, state) => {
      if (state.isValid || !state.fromHandle) return;
      const from = state.fromHandle;
      if (state.toHandle) {
        const to = state.toHandle;
        if (to.type === from.type) {
          notices.push('warn', `Not connected: wire an output (right side) to an input (left side)`);
          return;
        }
        const [src, dst] = from.type === 'source' ? [from, to] : [to, from];
        const r = checkConnection(store.level, catalog, { node: src.nodeId, port: src.id ?? '' }, { node: dst.nodeId, port: dst.id ?? '' });
        if (!r.ok) notices.push('warn', `Not connected: ${r.reason}`);
        return;
      }
      if (state.toNode) return;
      const p = 'changedTouches' in event ? event.changedTouches[0] : event;
      if (!p) return;
      editor.quickAdd({ x: p.clientX, y: p.clientY }, { node: from.nodeId, port: from.id ?? '', side: from.type === 'source' ? 'out' : 'in' });
    },
    [store, catalog, notices, editor],
  );

  const onReconnect = useCallback(
    (old: RfEdge, c: Connection) => {
      const r = store.reconnect(old.id, ...ends(c));
      if (!r.ok) notices.push('warn', `Not connected: ${r.reason}`);
    },
    [store, notices],
  );

  /** A wire end dragged off onto empty canvas unplugs it (React Flow keeps it otherwise). */
  const onReconnectEnd = useCallback(
    (_: unknown, edge: RfEdge, _side: unknown, state: FinalConnectionState) => {
      if (!state.isValid && !state.toHandle) store.disconnect([edge.id]);
    },
    [store],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = e.dataTransfer.types.includes(PALETTE_MIME) ? 'move' : 'copy';
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const at = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      const type = e.dataTransfer.getData(PALETTE_MIME);
      if (type) store.addNode(type, at);
      else if (e.dataTransfer.files.length) void onDropFiles([...e.dataTransfer.files], at);
    },
    [rf, store, onDropFiles],
  );

  const onDoubleClick = useCallback(
    (e: MouseEvent) => {
      if ((e.target as Element).classList.contains('react-flow__pane')) editor.quickAdd({ x: e.clientX, y: e.clientY });
    },
    [editor],
  );

  const onPaneContextMenu = useCallback(
    (e: MouseEvent | globalThis.MouseEvent) => {
      e.preventDefault();
      editor.quickAdd({ x: e.clientX, y: e.clientY });
    },
    [editor],
  );

  const onNodeContextMenu = useCallback(
    (e: MouseEvent, node: FlowNode) => {
      e.preventDefault();
      if (!snap.selectedNodes.has(node.id)) store.select([node.id]);
      setMenu({ x: e.clientX, y: e.clientY, nodeId: node.id });
    },
    [snap.selectedNodes, store],
  );

  const box = useRef<HTMLDivElement>(null);
  const onMoveStart = useCallback(() => box.current?.classList.add('is-moving'), []);
  const minimapColour = useCallback((n: FlowNode) => catalog.accent(catalogType(n.data.node)) ?? '#e05757', [catalog]);
  const onMoveEnd = useCallback(
    (_: unknown, v: Viewport) => {
      box.current?.classList.remove('is-moving');
      session.setViewport(v);
    },
    [session],
  );

  return (
    <div
      ref={box}
      className={`fc-canvas${running ? ' is-running' : ''}${zoomedOut ? ' is-zoomed-out' : ''}`}
      onDoubleClick={onDoubleClick}
      onPointerMove={(e) => (pointer.current = { x: e.clientX, y: e.clientY })}
      onPointerLeave={() => (pointer.current = undefined)}
    >
      <ReactFlow<FlowNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={(c) => store.applyNodeChanges(c)}
        onEdgesChange={(c) => store.applyEdgeChanges(c)}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        onReconnect={onReconnect}
        onReconnectEnd={onReconnectEnd}
        isValidConnection={isValidConnection}
        connectionLineComponent={ConnectionLine}
        onDragOver={onDragOver}
        onDrop={onDrop}
        onPaneContextMenu={onPaneContextMenu}
        onNodeContextMenu={onNodeContextMenu}
        onMoveStart={onMoveStart}
        onMoveEnd={onMoveEnd}
        defaultViewport={initialViewport}
        colorMode="dark"
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Control', 'Meta']}
        zoomOnDoubleClick={false}
        minZoom={0.05}
        maxZoom={2.5}
        connectionRadius={28}
        edgesReconnectable
        elevateEdgesOnSelect
        defaultEdgeOptions={{ type: 'default' }}
        proOptions={{ hideAttribution: false }}
      >
        <Background variant={BackgroundVariant.Dots} gap={22} size={1.3} color="#2c3240" />
        <MiniMap pannable zoomable nodeColor={minimapColour} maskColor="rgba(10,12,16,0.7)" />
        <Controls showInteractive={false} />
      </ReactFlow>
      {snap.path.length > 0 && <Breadcrumb />}
      {menu && <NodeMenu menu={menu} onClose={() => setMenu(undefined)} />}
      <ZoomVariable target={box} />
    </div>
  );

}

/** Where the canvas is: the graph, then each component entered; click one to go back out to it. */
function Breadcrumb() {
  const { store } = useEditor();
  const snap = useStore(store, (s) => s);
  return (
    <nav className="fc-breadcrumb" aria-label="Component path">
      <button onClick={() => store.leave(0)}>{snap.doc.name}</button>
      {snap.path.map((step, i) => (
        <span key={step.instance}>
          {' › '}
          {i === snap.path.length - 1 ? (
            <strong>{snap.doc.components?.[step.component]?.name ?? step.component}</strong>
          ) : (
            <button onClick={() => store.leave(i + 1)}>{snap.doc.components?.[step.component]?.name ?? step.component}</button>
          )}
        </span>
      ))}
    </nav>
  );
}

/**
 * Publishes the zoom as the CSS variable --fc-zoom on the canvas (zoomed-out nodes scale their type
 * against it) without re-rendering the canvas or any node as the zoom changes.
 */
function ZoomVariable({ target }: { target: RefObject<HTMLDivElement | null> }) {
  const zoom = useFlowStore((s) => Math.round(s.transform[2] * 100) / 100);
  useEffect(() => target.current?.style.setProperty('--fc-zoom', String(zoom)), [target, zoom]);
  return null;
}
