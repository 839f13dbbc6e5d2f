import { NodeRegistry } from '../runtime/registry.ts';
import type { AnyNodeDefinition } from '../runtime/node.ts';
import alignFace from './face/align.ts';
import cropFace from './face/crop.ts';
import detectFace from './face/detect.ts';
import faceMask from './face/mask.ts';
import parseHead from './face/parse-head.ts';
import qualitySelect from './face/quality-select.ts';
import retouch from './face/retouch.ts';
import rotateUpright from './face/rotate-upright.ts';
import crop from './image/crop.ts';
import grid from './image/grid.ts';
import loadImages from './image/load-images.ts';
import preview from './image/preview.ts';
import resize from './image/resize.ts';
import rotate from './image/rotate.ts';
import saveImages from './image/save-images.ts';
import adaptiveWeights from './lora/adaptive-weights.ts';
import bakeLora from './lora/bake.ts';
import loadLora from './lora/load.ts';
import loraMix from './lora/mix.ts';
import saveLora from './lora/save.ts';
import loraStack from './lora/stack.ts';
import faceDetail from './post/face-detail.ts';
import fuseFace from './post/fuse.ts';
import rankResults from './post/rank.ts';
import loadCheckpoint from './sd/load-checkpoint.ts';
import sampler from './sd/sampler.ts';
import vaeDecode from './sd/vae-decode.ts';
import dataset from './tag/dataset.ts';
import trainLora from './train/train-lora.ts';
import faceScore from './score/faces.ts';
import identityScore from './score/identity.ts';
import styleScore from './score/style.ts';
import tagger from './tag/tagger.ts';

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
  faceMask,
  alignFace,
  cropFace,
  qualitySelect,
  retouch,
  parseHead,
  tagger,
  dataset,
  trainLora,
  loadCheckpoint,
  sampler,
  vaeDecode,
  fuseFace,
  faceDetail,
  rankResults,
  loadLora,
  saveLora,
  loraStack,
  loraMix,
  bakeLora,
  adaptiveWeights,
  identityScore,
  faceScore,
  styleScore,
];

export function createRegistry(): NodeRegistry {
  return new NodeRegistry(builtinNodes);
}
