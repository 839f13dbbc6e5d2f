import { Handle, Position, useStore as useFlowStore, type NodeProps, type ReactFlowState } from '@xyflow/react';
import { memo, useMemo, useState, type CSSProperties, type MouseEvent } from 'react';
import type { CatalogNode, CatalogPort, NodeRun } from '../../../protocol/index.ts';
import type { FlowNode } from '../core/flow-mapping.ts';
import { catalogType, COMPONENT_CATEGORY } from '../core/component-catalog.ts';
import { instanceImageNode, instanceProblems, instanceRun } from '../core/component-state.ts';
import { estimateNodeHeight, formHeight, nearView, NODE_WIDTH } from '../core/node-size.ts';
import { unplacedProblems, type NodeProblems } from '../core/problems.ts';
import { useEditor, type ImageRef } from './context.ts';
import { ParamField } from './fields/ParamField.tsx';
import { useStore } from './use-store.ts';

const STATE_LABEL: Record<NodeRun['state'], string> = {
  queued: 'queued',
  running: 'running',
  cached: 'cached',
  done: 'done',
  error: 'error',
  skipped: 'skipped',
};

/**
 * Below this zoom the text is unreadable anyway: nodes drop their forms for a same-sized placeholder
 * (header and handles stay), so a zoomed-out 300-node graph renders and pans fast.
 */
export const DETAIL_ZOOM = 0.45;

/**
 * 'compact' below DETAIL_ZOOM; else the form only on or near the screen ('placeholder' elsewhere), so
 * zooming into a big graph mounts the forms of the nodes in view, not of all 300 at once. The estimated
 * height, not the measured one, keeps the answer from flipping as the form comes and goes.
 */
function detail(s: ReactFlowState, id: string, height: number): 'compact' | 'placeholder' | 'form' {
  const [x, y, zoom] = s.transform;
  if (zoom < DETAIL_ZOOM) return 'compact';
  const at = s.nodeLookup.get(id)?.internals.positionAbsolute;
  if (!at) return 'form';
  return nearView({ ...at, width: NODE_WIDTH, height }, { x, y, zoom }, s) ? 'form' : 'placeholder';
}

/**
 * One graph node: header with state, typed ports, the param form, progress, previews, errors.
 * Re-renders only for what it draws: React Flow also passes position and size, which change on every
 * measurement and would re-render all 300 forms of a big graph once more after it opens.
 */
export const GraphNode = memo(function GraphNode({ id, data, selected }: NodeProps<FlowNode>) {
  const { catalog, runs, store } = useEditor();
  const node = data.node;
  const def = data.def;
  const type = catalogType(node);
  const instance = def?.category === COMPONENT_CATEGORY && def.type === type;
  // Runs and problems name flat nodes by path: this level's prefix, and for an instance the nodes inside it.
  const path = useStore(store, (s) => s.prefix) + id;
  // Selected so that a node re-renders only when its own state changes, not on every event of the run.
  const ownRun = useStore(runs, (s) => (instance ? undefined : s.run?.nodes[path]));
  const innerRun = useStore(runs, (s) => (instance ? JSON.stringify(instanceRun(s.run?.nodes, path) ?? null) : 'null'));
  const run = useMemo(() => ownRun ?? (JSON.parse(innerRun) as NodeRun | null) ?? undefined, [ownRun, innerRun]);
  const grouped = useStore(runs, (s) => s.problems);
  const problems = useMemo(() => (instance ? instanceProblems(grouped, path) : grouped.nodes[path]), [instance, grouped, path]);
  const height = estimateNodeHeight(catalog, type);
  const shown = useFlowStore((s) => detail(s, id, height));
  const compact = shown === 'compact';

  // The header's top edge takes the colour of what the node makes, like cable colours on a patch bay.
  const accent = catalog.accent(type);
  const classes = ['fc-node', `is-${run?.state ?? 'idle'}`, selected ? 'is-selected' : '', problems ? 'has-problems' : '', def ? '' : 'is-missing', compact ? 'is-compact' : '', instance ? 'is-component' : ''];
  // Double-click an instance (not its form) to edit inside it.
  const onDoubleClick = instance
    ? (e: MouseEvent) => {
        if (!(e.target as Element).closest('.fc-params, .fc-node-title, .fc-port-name')) store.enter(id);
      }
    : undefined;
  return (
    <div className={classes.join(' ')} data-node-id={id} data-state={run?.state ?? 'idle'} onDoubleClick={onDoubleClick} style={accent ? ({ '--accent-port': accent } as CSSProperties) : undefined}>
      <NodeHeader id={id} title={node.title ?? def?.title ?? node.type} type={type} def={def} run={run} />
      {def && shown !== 'form' ? (
        <>
          <Ports def={def} problems={problems} component={instance ? node.component : undefined} />
          <div className="fc-params-placeholder" style={{ height: formHeight(catalog.fields(type)) }} />
          {compact && <CompactSummary path={path} instance={instance} title={node.title ?? def.title} def={def} run={run} />}
        </>
      ) : def ? (
        <>
          <Ports def={def} problems={problems} component={instance ? node.component : undefined} />
          <div className="fc-params nodrag nowheel">
            {catalog.fields(type).map((f) => (
              <ParamField key={f.key} nodeId={id} field={f} params={node.params} problems={problems?.params[f.key]} />
            ))}
          </div>
        </>
      ) : (
        <MissingType node={node} wired={data.wired} />
      )}
      {shown === 'form' && <NodeFooter path={path} instance={instance} def={def} run={run} problems={problems} />}
    </div>
  );
}, (a, b) => a.id === b.id && a.data === b.data && a.selected === b.selected);

/**
 * A node whose type (or type version) this server lacks: red, with its type, its params as they are
 * (unknown to this server, so not editable) and a handle for every wire, so nothing of it is lost.
 */
function MissingType({ node, wired }: { node: FlowNode['data']['node']; wired?: { inputs: string[]; outputs: string[] } }) {
  const { catalog } = useEditor();
  const known = catalog.node(node.type);
  const rows = Math.max(wired?.inputs.length ?? 0, wired?.outputs.length ?? 0);
  const handle = (side: 'in' | 'out', name?: string) =>
    name ? (
      <div className={`fc-port is-${side}`} title={`${name}: unknown type`}>
        <Handle type={side === 'in' ? 'target' : 'source'} position={side === 'in' ? Position.Left : Position.Right} id={name} className="fc-handle" />
        <span className="fc-port-name">{name}</span>
      </div>
    ) : (
      <span />
    );
  return (
    <>
      {rows > 0 && (
        <div className="fc-ports">
          {Array.from({ length: rows }, (_, i) => (
            <div key={i} className="fc-port-row">
              {handle('in', wired?.inputs[i])}
              {handle('out', wired?.outputs[i])}
            </div>
          ))}
        </div>
      )}
      <div className="fc-node-missing" data-testid="missing-node">
        {known ? (
          <>
            This node was made with version {node.version} of <code>{node.type}</code>; this server has version {known.version}. Update FaceChain Studio to run it.
          </>
        ) : (
          <>
            This server has no node type <code>{node.type}</code>.
          </>
        )}{' '}
        The node is kept with its params and wires as they are, and saved unchanged; the graph cannot run until the type exists.
        <pre>{JSON.stringify(node.params, null, 1)}</pre>
      </div>
    </>
  );
}

/** Progress, errors and previews: only drawn at a zoom where they can be read. */
function NodeFooter({ path, instance, def, run, problems }: { path: string; instance: boolean; def?: CatalogNode; run?: NodeRun; problems?: NodeProblems }) {
  return (
    <>
      {run?.state === 'running' && <Progress fraction={run.fraction} message={run.message} />}
      {run?.state === 'error' && <div className="fc-node-error">{run.error}</div>}
      {run?.state === 'skipped' && run.message && <div className="fc-node-note">{run.message}</div>}
      {problems && <Unplaced problems={problems} def={def} />}
      <Previews path={path} instance={instance} def={def} />
    </>
  );
}

function Unplaced({ problems, def }: { problems: NodeProblems; def?: CatalogNode }) {
  const { catalog } = useEditor();
  const keys = def ? catalog.fields(def.type).map((f) => f.key) : [];
  return unplacedProblems(problems, keys, def?.inputs.map((p) => p.name) ?? []).map((m) => (
    <div key={m} className="fc-node-error">
      {m}
    </div>
  ));
}

function NodeHeader({ id, title, type, def, run }: { id: string; title: string; type: string; def?: CatalogNode; run?: NodeRun }) {
  const { store } = useEditor();
  const [editing, setEditing] = useState(false);
  const time = run?.durationMs !== undefined && run.state === 'done' ? formatMs(run.durationMs) : undefined;
  return (
    <div className="fc-node-header" title={def ? `${def.title} (${type})\n\n${def.description}` : type}>
      <span className={`fc-state-dot is-${run?.state ?? 'idle'}`} />
      {editing ? (
        <input
          className="fc-title-input nodrag"
          autoFocus
          defaultValue={title}
          onBlur={(e) => {
            store.setTitle(id, e.target.value === def?.title ? '' : e.target.value);
            setEditing(false);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') e.currentTarget.blur();
            if (e.key === 'Escape') setEditing(false);
          }}
        />
      ) : (
        <span className="fc-node-title" onDoubleClick={(e) => (e.stopPropagation(), setEditing(true))}>
          {title}
        </span>
      )}
      {run && run.state !== 'running' && (
        <span className={`fc-badge is-${run.state}`}>{time ? `${STATE_LABEL[run.state]} ${time}` : STATE_LABEL[run.state]}</span>
      )}
      {run?.state === 'running' && <span className="fc-badge is-running">{Math.round((run.fraction ?? 0) * 100)}%</span>}
    </div>
  );
}

/** The ports; a component instance's port names can be renamed (double-click). */
function Ports({ def, problems, component }: { def: CatalogNode; problems?: NodeProblems; component?: string }) {
  const rows = Math.max(def.inputs.length, def.outputs.length);
  if (!rows) return null;
  return (
    <div className="fc-ports">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="fc-port-row">
          {def.inputs[i] ? <PortLabel port={def.inputs[i]} side="in" problem={problems?.inputs[def.inputs[i].name]} component={component} /> : <span />}
          {def.outputs[i] ? <PortLabel port={def.outputs[i]} side="out" component={component} /> : <span />}
        </div>
      ))}
    </div>
  );
}

function PortLabel({ port, side, problem, component }: { port: CatalogPort; side: 'in' | 'out'; problem?: string[]; component?: string }) {
  const { catalog, store, notices } = useEditor();
  const rename = component
    ? () => {
        const to = window.prompt(`Rename the ${side === 'in' ? 'input' : 'output'} "${port.name}" of this component to`, port.name);
        if (to !== null && to.trim() !== port.name && !store.renamePort(component, side, port.name, to)) notices.push('warn', `Not renamed: "${to}" is empty or already a port of this component`);
      }
    : undefined;
  const colour = catalog.colour(port.type);
  const tip = [`${port.name}: ${port.type}${port.optional ? ' (optional)' : ''}`, port.description, catalog.catalog.portTypes[port.type]?.description, ...(problem ?? [])]
    .filter(Boolean)
    .join('\n');
  return (
    <div className={`fc-port is-${side}${problem ? ' has-problem' : ''}`} title={tip}>
      <Handle
        type={side === 'in' ? 'target' : 'source'}
        position={side === 'in' ? Position.Left : Position.Right}
        id={port.name}
        className="fc-handle"
        style={{ background: colour, borderColor: colour }}
      />
      <span className="fc-port-name" onDoubleClick={rename}>
        {port.name}
      </span>
      <span className="fc-port-type" style={{ color: colour }}>
        {port.type}
      </span>
    </div>
  );
}

function Progress({ fraction, message }: { fraction?: number; message?: string }) {
  const pct = Math.round((fraction ?? 0) * 100);
  return (
    <div className="fc-progress" title={message}>
      <div className="fc-progress-bar" style={{ width: `${pct}%` }} />
      <span className="fc-progress-text">{message ? `${pct}% · ${message}` : `${pct}%`}</span>
    </div>
  );
}

const MAX_THUMBS = 4;

/**
 * Zoomed out, the node's body becomes what can be read from afar (semantic zoom): its title, state and
 * progress in type scaled against the zoom (--fc-zoom, set by the canvas), and its latest image filling
 * the rest. Drawn over the same-sized placeholder, so the node's size, handles and wires stay put.
 */
function CompactSummary({ path, instance, title, def, run }: { path: string; instance: boolean; title: string; def: CatalogNode; run?: NodeRun }) {
  const { shown } = usePreviewImages(path, instance, def);
  const state = run?.state;
  const pct = state === 'running' ? Math.round((run?.fraction ?? 0) * 100) : undefined;
  return (
    <div className={`fc-compact is-${state ?? 'idle'}`} data-testid="compact-summary">
      <div className="fc-compact-title">{title}</div>
      {state && <div className="fc-compact-state">{pct === undefined ? STATE_LABEL[state] : `${pct}%`}</div>}
      {pct !== undefined && (
        <div className="fc-compact-progress">
          <div className="fc-progress-bar" style={{ width: `${pct}%` }} />
        </div>
      )}
      {shown[0] && <img className="fc-compact-image" src={shown[0].url} alt={shown[0].label} draggable={false} />}
    </div>
  );
}

/**
 * The latest preview images, or after a reload (previews are not kept) the run's full-size outputs,
 * full-size first. Runs name nodes by their flat path; an instance shows the images of the node inside
 * it that made the latest preview.
 */
function usePreviewImages(path: string, instance: boolean, def?: CatalogNode): { shown: ImageRef[]; full: ImageRef[] } {
  const { runs, api } = useEditor();
  const id = useStore(runs, (s) => (instance ? instanceImageNode(s.previews, s.outputs.nodes, path) : path));
  const preview = useStore(runs, (s) => (id === undefined ? undefined : s.previews[id]));
  const outputs = useStore(runs, (s) => s.outputs);
  const full = useMemo(() => {
    const ports = outputs.runId && id !== undefined ? outputs.nodes[id] : undefined;
    const refs: ImageRef[] = [];
    // An instance's ports are not the inner node's: its outputs in the order the server lists them.
    const names = instance ? Object.keys(ports ?? {}) : (def?.outputs ?? []).map((p) => p.name);
    for (const port of ports ? names : []) {
      for (let i = 0; i < (ports![port] ?? 0); i++) {
        const url = api.outputUrl(outputs.runId!, id!, port, i);
        refs.push({ url, full: url, label: `${port} ${i + 1} (full size)` });
      }
    }
    return refs;
  }, [outputs, id, instance, def, api]);
  const shown: ImageRef[] = preview
    ? preview.images.filter(Boolean).map((img, i) => ({ url: img.url, label: `Preview ${i + 1} (${img.width}×${img.height})` }))
    : full;
  return { shown, full };
}

/** The node's images as thumbnails; a click opens the viewer on the full-size outputs when the run has them. */
function Previews({ path, instance, def }: { path: string; instance: boolean; def?: CatalogNode }) {
  const { showImages } = useEditor();
  const { shown, full } = usePreviewImages(path, instance, def);
  if (!shown.length) return null;

  // Full-size outputs first: what the node actually produced, not the downscaled previews.
  const open = (start: number) => (full.length ? showImages(full, Math.min(start, full.length - 1)) : showImages(shown, start));

  return (
    <div className={`fc-previews n-${Math.min(shown.length, MAX_THUMBS)} nodrag`}>
      {shown.slice(0, MAX_THUMBS).map((img, i) => (
        <button key={img.url} className="fc-thumb" onClick={() => open(i)} title="View full size">
          <img src={img.url} alt={img.label} draggable={false} loading="lazy" />
          {i === MAX_THUMBS - 1 && shown.length > MAX_THUMBS && <span className="fc-more">+{shown.length - MAX_THUMBS}</span>}
        </button>
      ))}
    </div>
  );
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
