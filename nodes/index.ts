import { NodeRegistry } from '../runtime/registry.ts';
import type { AnyNodeDefinition } from '../runtime/node.ts';
import crop from './image/crop.ts';
import grid from './image/grid.ts';
import loadImages from './image/load-images.ts';
import preview from './image/preview.ts';
import resize from './image/resize.ts';
import rotate from './image/rotate.ts';
import saveImages from './image/save-images.ts';

/** Every node type FaceChain Studio ships. */
export const builtinNodes: AnyNodeDefinition[] = [loadImages, resize, crop, rotate, grid, preview, saveImages];

export function createRegistry(): NodeRegistry {
  return new NodeRegistry(builtinNodes);
}
