import type { ReactFlowInstance } from '@xyflow/react';
import type { NodeInstance } from '../../../protocol/index.ts';

/** Pans (and zooms in to a readable size if needed) so the node is in the middle of the canvas. */
export function centreOn(rf: Pick<ReactFlowInstance, 'setCenter' | 'getZoom'>, node: NodeInstance, duration = 300): void {
  const at = node.position ?? { x: 0, y: 0 };
  void rf.setCenter(at.x + 140, at.y + 120, { zoom: Math.max(rf.getZoom(), 0.9), duration });
}
