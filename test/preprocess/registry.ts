// A registry with every preprocessing node, whether or not nodes/index.ts lists it yet.
import align from '../../nodes/face/align.ts';
import crop from '../../nodes/face/crop.ts';
import detect from '../../nodes/face/detect.ts';
import parseHead from '../../nodes/face/parse-head.ts';
import qualitySelect from '../../nodes/face/quality-select.ts';
import retouch from '../../nodes/face/retouch.ts';
import rotateUpright from '../../nodes/face/rotate-upright.ts';
import dataset from '../../nodes/tag/dataset.ts';
import tagger from '../../nodes/tag/tagger.ts';
import { builtinNodes } from '../../nodes/index.ts';
import { NodeRegistry } from '../../runtime/registry.ts';

export const PREPROCESS_NODES = [rotateUpright, detect, align, crop, qualitySelect, retouch, parseHead, tagger, dataset];

export function preprocessRegistry(): NodeRegistry {
  const registry = new NodeRegistry(builtinNodes);
  for (const def of PREPROCESS_NODES) if (!registry.get(def.type)) registry.register(def);
  return registry;
}
