import type { EdgeChange, NodeChange } from '@xyflow/system';
import type { Draft } from 'immer';
import { addLibraryComponent, COMPONENT_TYPE, GRAPH_FORMAT, GRAPH_VERSION, type Graph, groupNodes, type Level, type LibraryEntry, updateFromLibrary } from '../../../protocol/index.ts';
import { catalogType } from './component-catalog.ts';
import { advanceSeeds, setSeedControl, type SeedControl } from './seed-control.ts';
import type { CatalogIndex } from './catalog-index.ts';
import { copyFragment, mergeComponents, pasteFragment, topLeft } from './clipboard.ts';
import { checkConnection, type ConnectionCheck, type PortRef } from './connections.ts';
import { defaultParams } from './form-model.ts';
import * as edit from './graph-edit.ts';
import { History } from './history.ts';

export interface Size {
  width: number;
  height: number;
}

/** What the canvas draws: the undoable document plus view state that undo does not touch. */
/** One step into a component: the instance double-clicked and the definition it shows. */
export interface Inside {
  instance: string;
  component: string;
}

export interface EditorSnapshot {
  doc: Graph;
  /** What the canvas shows: the document's top level, or the inside of the component being edited. */
  level: Level;
  /** The components entered, outermost first (the breadcrumb). */
  path: readonly Inside[];
  /** The flat-graph id prefix of this level's nodes (`portrait/preprocess/`), as runs and problems name them. */
  prefix: string;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  /** Rendered node sizes, fed back to React Flow (it needs them on every node object it gets). */
  measured: ReadonlyMap<string, Size>;
  canUndo: boolean;
  canRedo: boolean;
  undoLabel?: string;
  redoLabel?: string;
}

export function emptyGraph(name = 'untitled'): Graph {
  return { format: GRAPH_FORMAT, version: GRAPH_VERSION, name, nodes: [], edges: [] };
}

/**
 * The editor's state machine, free of React: every edit goes through History (one undo step each;
 * drags and typing coalesce), selection and measured sizes live beside it.
 */
export class EditorStore {
  readonly history: History<Graph>;
  private selectedNodes: ReadonlySet<string> = new Set();
  private selectedEdges: ReadonlySet<string> = new Set();
  private measured: ReadonlyMap<string, Size> = new Map();
  private path: Inside[] = [];
  private snapshot: EditorSnapshot;
  private listeners = new Set<() => void>();

  constructor(
    readonly catalog: CatalogIndex,
    initial: Graph = emptyGraph(),
    historyLimit = 500,
  ) {
    this.history = new History(initial, historyLimit);
    this.snapshot = this.makeSnapshot();
    this.history.subscribe(() => this.changed());
  }

  get doc(): Graph {
    return this.history.state;
  }

  /** The nodes and edges being edited: the top level or the inside of the entered component. */
  get level(): Level {
    return this.snapshot.level;
  }

  /** Edits go to the level shown; a component's inside is its definition, shared by all its instances. */
  private edit(label: string, recipe: (level: Draft<Level>, doc: Draft<Graph>) => void, options?: { coalesce?: string }): boolean {
    const inside = this.path.at(-1);
    return this.history.edit(label, (g) => {
      const level = inside ? g.components?.[inside.component] : g;
      if (!level) throw new Error(`The document has no component "${inside?.component}"`);
      recipe(level, g);
    }, options);
  }

  getSnapshot = (): EditorSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  // --- document edits (each one undo step) ---

  /** Adds a node of a catalog type with every default param written out (`params` override); returns its id. */
  addNode(type: string, position: edit.XY, params: Record<string, unknown> = {}): string {
    const id = edit.freshId(type, edit.nodeIds(this.level));
    const all = { ...defaultParams(this.catalog.fields(type)), ...params };
    const version = this.catalog.node(type)?.version;
    // The node records its type's version, so a later build with a newer one can upgrade its params.
    this.edit(`Add ${this.catalog.node(type)?.title ?? type}`, (g) =>
      edit.addNode(g, { id, type, params: all, position: { x: Math.round(position.x), y: Math.round(position.y) }, ...(version ? { version } : {}) }),
    );
    this.select([id]);
    return id;
  }

  /**
   * Adds a node and plugs a dangling wire into its first matching port, as one undo step. `wire.side`
   * is the side of the port the wire hangs from ('out': an output, so the new node takes it as input).
   */
  addNodeWired(type: string, position: edit.XY, wire: PortRef & { side: 'in' | 'out' }): { id: string; check?: ConnectionCheck } {
    const def = this.catalog.node(type);
    const hanging = this.level.nodes.find((n) => n.id === wire.node);
    const portType = hanging && this.catalog.port(catalogType(hanging), wire.side, wire.port)?.type;
    const port = def && portType ? this.catalog.matchingPort(def, wire.side, portType) : undefined;
    if (!port) return { id: this.addNode(type, position) };
    const id = edit.freshId(type, edit.nodeIds(this.level));
    const node = { id, type, params: defaultParams(this.catalog.fields(type)), position: { x: Math.round(position.x), y: Math.round(position.y) }, version: def!.version };
    const hangs = { node: wire.node, port: wire.port };
    const [from, to] = wire.side === 'out' ? [hangs, { node: id, port: port.name }] : [{ node: id, port: port.name }, hangs];
    const check = checkConnection({ ...this.level, nodes: [...this.level.nodes, node] }, this.catalog, from, to);
    this.edit(`Add ${def!.title}`, (g) => {
      edit.addNode(g, node);
      if (check.ok) edit.connect(g, from, to);
    });
    this.select([id]);
    return { id, check };
  }

  /** Connects when the rules allow it; the result says why not otherwise. */
  connect(from: PortRef, to: PortRef): ConnectionCheck {
    const check = checkConnection(this.level, this.catalog, from, to);
    if (check.ok) this.edit(check.replaces ? 'Replace wire' : 'Connect', (g) => edit.connect(g, from, to));
    return check;
  }

  /** Moves a wire's end: the old wire goes, the new one follows the usual rules (refused: old stays). */
  reconnect(oldKey: string, from: PortRef, to: PortRef): ConnectionCheck {
    const without = { ...this.level, edges: this.level.edges.filter((e) => edit.edgeKey(e) !== oldKey) };
    const check = checkConnection(without, this.catalog, from, to);
    if (check.ok) {
      this.edit('Move wire', (g) => {
        edit.removeElements(g, [], [oldKey]);
        edit.connect(g, from, to);
      });
    }
    return check;
  }

  /** Unplugs wires (by edge key), e.g. one whose end was dragged off onto the empty canvas. */
  disconnect(keys: string[]): void {
    this.edit(keys.length === 1 ? 'Remove wire' : 'Remove wires', (g) => edit.removeElements(g, [], keys));
  }

  /** Param edits of one field coalesce (typing, sliding) until `seal()`. */
  setParam(nodeId: string, key: string, value: unknown): void {
    this.edit(`Set ${key}`, (g) => edit.setParam(g, nodeId, key, value), { coalesce: `param:${this.snapshot.prefix}${nodeId}:${key}` });
  }

  setSeedControl(nodeId: string, key: string, control: SeedControl): void {
    this.history.edit('Set seed control', (g) => setSeedControl(g, nodeId, key, control));
  }

  /** After a run starts: moves the seeds set to increment or randomize on, as one undo step. */
  advanceSeeds(random?: () => number): void {
    if (this.doc.meta?.seedControl === undefined) return;
    this.history.edit('New seeds after run', (g) => void advanceSeeds(g, this.catalog, random));
  }

  setTitle(nodeId: string, title: string): void {
    this.edit('Rename node', (g) => edit.setTitle(g, nodeId, title));
  }

  rename(name: string): void {
    this.history.edit('Rename graph', (g) => edit.rename(g, name));
  }

  deleteSelection(): void {
    if (!this.selectedNodes.size && !this.selectedEdges.size) return;
    const n = this.selectedNodes.size;
    this.edit(n ? `Delete ${n} node${n === 1 ? '' : 's'}` : 'Delete wire', (g) =>
      edit.removeElements(g, this.selectedNodes, this.selectedEdges),
    );
    this.setSelection(new Set(), new Set());
  }

  /** Opens another graph as one undoable step (an accidental drop is one Ctrl+Z away). */
  load(graph: Graph, label = 'Open graph'): void {
    this.path = [];
    this.history.edit(label, (g) => edit.replaceGraph(g, graph));
    this.setSelection(new Set(), new Set());
  }

  // --- components ---

  /**
   * Moves the selected nodes into a new component with one instance in their place (one undo step):
   * wires into and out of the selection, and the inner ports wired nowhere, become its ports; `params`
   * (inner node id and param) become its params. Returns the instance id.
   */
  makeComponent(name: string, params: { node: string; param: string; name?: string }[] = []): string | undefined {
    const nodes = this.level.nodes.filter((n) => this.selectedNodes.has(n.id)).map((n) => n.id);
    if (!nodes.length) return undefined;
    const component = edit.freshId(name.toLowerCase(), new Set(Object.keys(this.doc.components ?? {})));
    const instance = edit.freshId(component, new Set(this.level.nodes.filter((n) => !this.selectedNodes.has(n.id)).map((n) => n.id)));
    const { level, definition } = groupNodes(this.level, { nodes, component, instance, name, params }, (type) => {
      const def = this.catalog.node(type);
      return def && { inputs: def.inputs.map((p) => p.name), outputs: def.outputs.map((p) => p.name), params: this.catalog.fields(type).map((f) => f.key) };
    });
    this.edit(`Make component ${name}`, (g, doc) => {
      g.nodes = level.nodes;
      g.edges = level.edges;
      doc.components = { ...doc.components, [component]: definition };
    });
    this.select([instance]);
    return instance;
  }

  /** Renames a component's input or output port; the wires to it in every level follow (one undo step). */
  renamePort(component: string, side: 'in' | 'out', from: string, to: string): boolean {
    const def = this.doc.components?.[component];
    const ports = side === 'in' ? def?.inputs : def?.outputs;
    const name = to.trim();
    if (!ports || !Object.hasOwn(ports, from) || !name || name === from || Object.hasOwn(ports, name)) return false;
    return this.edit(`Rename port ${from} to ${name}`, (_, doc) => {
      const d = doc.components?.[component];
      if (!d) return;
      const renamed = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k === from ? name : k, v]));
      if (side === 'in') d.inputs = renamed(d.inputs);
      else d.outputs = renamed(d.outputs);
      for (const level of [doc, ...Object.values(doc.components!)]) {
        const instances = new Set(level.nodes.filter((n) => n.type === COMPONENT_TYPE && n.component === component).map((n) => n.id));
        for (const e of level.edges) {
          const end = side === 'in' ? e.to : e.from;
          if (instances.has(end.node) && end.port === from) end.port = name;
        }
      }
    });
  }

  /** Makes an inner param of the component being edited one of its params (one undo step). */
  exposeParam(nodeId: string, param: string, name: string): boolean {
    const inside = this.path.at(-1);
    const def = inside && this.doc.components?.[inside.component];
    const key = name.trim();
    if (!inside || !def || !key || Object.hasOwn(def.params, key)) return false;
    return this.edit(`Expose param ${key}`, (_, doc) => {
      const d = doc.components?.[inside.component];
      if (d) d.params[key] = { node: nodeId, param };
    });
  }

  /** Places an instance of a library component (its definitions join the document's); returns its id. */
  addLibraryInstance(entry: LibraryEntry, position: edit.XY): string {
    const { components, id: component } = addLibraryComponent(this.doc, entry);
    const id = edit.freshId(entry.id, edit.nodeIds(this.level));
    this.edit(`Add ${entry.component.name}`, (g, doc) => {
      doc.components = components;
      edit.addNode(g, { id, type: COMPONENT_TYPE, component, params: {}, position: { x: Math.round(position.x), y: Math.round(position.y) } });
    });
    this.select([id]);
    return id;
  }

  /** Replaces the document's copy of a library component with the library's version (all its instances). */
  updateComponent(componentId: string, entry: LibraryEntry): boolean {
    return this.edit(`Update ${entry.component.name} to version ${entry.version}`, (_, doc) => {
      doc.components = updateFromLibrary(this.doc, componentId, entry);
    });
  }

  /** Shows the inside of a component instance of the level shown (double-click). */
  enter(instanceId: string): boolean {
    const node = this.level.nodes.find((n) => n.id === instanceId);
    if (node?.type !== COMPONENT_TYPE || !node.component || !this.doc.components?.[node.component]) return false;
    this.path = [...this.path, { instance: node.id, component: node.component }];
    this.selectedNodes = new Set();
    this.selectedEdges = new Set();
    this.measured = new Map();
    this.changed();
    return true;
  }

  /** Back out to `depth` components deep (0: the document's top level), as the breadcrumb does. */
  leave(depth = this.path.length - 1): void {
    if (depth < 0 || depth >= this.path.length) return;
    this.path = this.path.slice(0, depth);
    this.selectedNodes = new Set();
    this.selectedEdges = new Set();
    this.measured = new Map();
    this.changed();
  }

  /**
   * Shows and selects the node a run or a problem names by its flat id: `detect` on the top level,
   * `portrait/preprocess/detect` inside the components on that path. False when the graph has no such node.
   */
  reveal(flatId: string): boolean {
    const parts = flatId.split('/');
    const target = parts.pop()!;
    const path: Inside[] = [];
    let level: Level = this.doc;
    for (const instance of parts) {
      const node = level.nodes.find((n) => n.id === instance);
      const def = node?.type === COMPONENT_TYPE && node.component ? this.doc.components?.[node.component] : undefined;
      if (!def) return false;
      path.push({ instance, component: node!.component! });
      level = def;
    }
    if (!level.nodes.some((n) => n.id === target)) return false;
    const moved = path.length !== this.path.length || path.some((p, i) => p.instance !== this.path[i]?.instance || p.component !== this.path[i]?.component);
    if (moved) {
      this.path = path;
      this.measured = new Map();
    }
    this.selectedNodes = new Set([target]);
    this.selectedEdges = new Set();
    this.changed();
    return true;
  }

  // --- clipboard ---

  copySelection(): Graph | undefined {
    if (!this.selectedNodes.size) return undefined;
    return copyFragment({ ...this.level, name: this.doc.name, components: this.doc.components }, this.selectedNodes);
  }

  /**
   * Pastes a fragment with its top-left at `at`; the pasted nodes become the selection. The definitions
   * of pasted component instances join the document's (one it holds unchanged is reused).
   */
  paste(fragment: Graph, at: edit.XY): string[] {
    if (!fragment.nodes.length) return [];
    let ids: string[] = [];
    this.edit(`Paste ${fragment.nodes.length} node${fragment.nodes.length === 1 ? '' : 's'}`, (g, doc) => {
      ids = pasteFragment(g, fragment, at, mergeComponents(doc, fragment));
    });
    this.select(ids);
    return ids;
  }

  /** Copies the selection next to itself (offset down-right), the copies selected. */
  duplicateSelection(offset = 40): string[] {
    const fragment = this.copySelection();
    if (!fragment) return [];
    const at = topLeft(fragment);
    return this.paste(fragment, { x: at.x + offset, y: at.y + offset });
  }

  undo(): string | undefined {
    return this.history.undo();
  }

  redo(): string | undefined {
    return this.history.redo();
  }

  /** Ends a coalescing run of edits (field blur, drag end). */
  seal(): void {
    this.history.seal();
  }

  // --- view state ---

  select(nodes: Iterable<string>, edges: Iterable<string> = []): void {
    this.setSelection(new Set(nodes), new Set(edges));
  }

  selectAll(): void {
    this.setSelection(new Set(this.level.nodes.map((n) => n.id)), new Set(this.level.edges.map(edit.edgeKey)));
  }

  /** React Flow node changes: drags become (coalesced) moves, sizes and selection are view state. */
  applyNodeChanges(changes: NodeChange[]): void {
    const moves = new Map<string, edit.XY>();
    let dragEnded = false;
    let measured: Map<string, Size> | undefined;
    let selected: Set<string> | undefined;
    for (const c of changes) {
      if (c.type === 'position') {
        if (c.position) moves.set(c.id, c.position);
        if (c.dragging === false) dragEnded = true;
      } else if (c.type === 'dimensions' && c.dimensions) {
        const old = this.measured.get(c.id);
        if (old?.width !== c.dimensions.width || old?.height !== c.dimensions.height) {
          measured ??= new Map(this.measured);
          measured.set(c.id, c.dimensions);
        }
      } else if (c.type === 'select') {
        selected ??= new Set(this.selectedNodes);
        if (c.selected) selected.add(c.id);
        else selected.delete(c.id);
      }
    }
    if (moves.size) {
      const n = moves.size;
      this.edit(`Move ${n} node${n === 1 ? '' : 's'}`, (g) => edit.moveNodes(g, moves), { coalesce: 'move' });
    }
    if (dragEnded) this.history.seal();
    if (measured || selected) {
      if (measured) this.measured = measured;
      if (selected) this.selectedNodes = selected;
      this.changed();
    }
  }

  applyEdgeChanges(changes: EdgeChange[]): void {
    let selected: Set<string> | undefined;
    for (const c of changes) {
      if (c.type !== 'select') continue;
      selected ??= new Set(this.selectedEdges);
      if (c.selected) selected.add(c.id);
      else selected.delete(c.id);
    }
    if (selected) this.setSelection(this.selectedNodes, selected);
  }

  private setSelection(nodes: ReadonlySet<string>, edges: ReadonlySet<string>): void {
    if (sameSet(nodes, this.selectedNodes) && sameSet(edges, this.selectedEdges)) return;
    this.selectedNodes = nodes;
    this.selectedEdges = edges;
    this.changed();
  }

  private changed(): void {
    this.snapshot = this.makeSnapshot();
    for (const l of this.listeners) l();
  }

  private makeSnapshot(): EditorSnapshot {
    const h = this.history;
    const doc = h.state;
    this.catalog.setComponents(doc.components);
    // An undo can take away the component being edited (or its instance): show the level that is left.
    let level: Level = doc;
    let depth = 0;
    for (const step of this.path) {
      const def = doc.components?.[step.component];
      if (!def || !level.nodes.some((n) => n.id === step.instance && n.component === step.component)) break;
      depth++;
      level = def;
    }
    // The same array while the path is unchanged: the canvas frames the view when it changes.
    if (depth < this.path.length) this.path = this.path.slice(0, depth);
    const path = this.path;
    return {
      doc,
      level,
      path,
      prefix: path.map((p) => `${p.instance}/`).join(''),
      selectedNodes: this.selectedNodes,
      selectedEdges: this.selectedEdges,
      measured: this.measured,
      canUndo: h.canUndo,
      canRedo: h.canRedo,
      undoLabel: h.undoLabel,
      redoLabel: h.redoLabel,
    };
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
