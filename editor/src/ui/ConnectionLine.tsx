import { getBezierPath, type ConnectionLineComponentProps } from '@xyflow/react';
import { catalogType } from '../core/component-catalog.ts';
import { checkConnection } from '../core/connections.ts';
import type { FlowNode } from '../core/flow-mapping.ts';
import { useEditor } from './context.ts';

/** The wire being dragged: coloured by its port type, red with the reason over a handle it cannot join. */
export function ConnectionLine(props: ConnectionLineComponentProps<FlowNode>) {
  const { fromX, fromY, toX, toY, fromPosition, toPosition, fromHandle, fromNode, toHandle, connectionStatus } = props;
  const { store, catalog } = useEditor();
  const side = fromHandle.type === 'source' ? 'out' : 'in';
  const port = catalog.port(catalogType(fromNode.data.node), side, fromHandle.id ?? '');
  const [path] = getBezierPath({ sourceX: fromX, sourceY: fromY, sourcePosition: fromPosition, targetX: toX, targetY: toY, targetPosition: toPosition });

  let reason: string | undefined;
  if (connectionStatus === 'invalid' && toHandle) {
    if (toHandle.type === fromHandle.type) reason = 'Wire an output to an input';
    else {
      const [src, dst] = fromHandle.type === 'source' ? [fromHandle, toHandle] : [toHandle, fromHandle];
      const r = checkConnection(store.level, catalog, { node: src.nodeId, port: src.id ?? '' }, { node: dst.nodeId, port: dst.id ?? '' });
      if (!r.ok) reason = r.reason;
    }
  }
  const colour = reason ? '#ff5c5c' : port ? catalog.colour(port.type) : '#9aa4b2';
  return (
    <g className="fc-connection-line">
      <path d={path} fill="none" stroke={colour} strokeWidth={2.5} strokeDasharray={reason ? '6 5' : undefined} />
      <circle cx={toX} cy={toY} r={4} fill={colour} />
      {reason && (
        <foreignObject x={toX + 14} y={toY + 10} width={340} height={80} style={{ overflow: 'visible' }}>
          <div className="fc-wire-reason">{reason}</div>
        </foreignObject>
      )}
    </g>
  );
}
