import { NodeRegistry } from '../runtime/registry.ts';
import type { AnyNodeDefinition } from '../runtime/node.ts';
import detectFace from './face/detect.ts';
import rotateUpright from './face/rotate-upright.ts';
import crop from './image/crop.ts';
import grid from './image/grid.ts';
import loadImages from './image/load-images.ts';
import preview from './image/preview.ts';
import resize from './image/resize.ts';
import rotate from './image/rotate.ts';
import saveImages from './image/save-images.ts';
import loadLora from './lora/load.ts';
import loraMix from './lora/mix.ts';
import saveLora from './lora/save.ts';
import loraStack from './lora/stack.ts';
import loadCheckpoint from './sd/load-checkpoint.ts';
import sampler from './sd/sampler.ts';
import vaeDecode from './sd/vae-decode.ts';

/** Every node type FaceChain Studio ships. */
export const builtinNodes: AnyNodeDefinition[] = [
  loadImages,
  resize,
  crop,
  rotate,
  grid,
  preview,
  saveImages,
  rotateUpright,
  detectFace,
  loadCheckpoint,
  sampler,
  vaeDecode,
  loadLora,
  saveLora,
  loraStack,
  loraMix,
];

export function createRegistry(): NodeRegistry {
  return new NodeRegistry(builtinNodes);
}
