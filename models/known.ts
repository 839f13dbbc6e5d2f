// The one list of models FaceChain Studio knows: the face models it ships (from the face registry)
// and the Stable Diffusion checkpoints users bring.
import { FACE_MODELS, type FaceModelSpec } from './face/registry.ts';
import { SD_CHECKPOINTS } from './sd/known-checkpoints.ts';
import { KnownModels, type KnownModel } from './store/known.ts';

function faceKnownModel(spec: FaceModelSpec): KnownModel {
  return {
    id: spec.id,
    kind: 'face',
    files: spec.files.map((f) => ({ ...f })),
    sha256: spec.files[0]!.sha256,
    package: spec.package,
    source: spec.upstream,
    licence: spec.licence,
    description: spec.title,
  };
}

export const KNOWN_MODELS = new KnownModels([...FACE_MODELS.map(faceKnownModel), ...SD_CHECKPOINTS]);
