// Where the preprocessing nodes get the face models: the server's shared set when it provides one,
// else one set per model store, converted on first use into models/converted/face.
import { FaceModels, faceModelsDir } from '../../models/face/face-models.ts';
import type { RunContext } from '../../runtime/node.ts';

declare module '../../runtime/node.ts' {
  interface Services {
    faceModels?: FaceModels;
  }
}

const byStore = new Map<string, FaceModels>();

export function faceModels(ctx: RunContext): FaceModels {
  if (ctx.services.faceModels) return ctx.services.faceModels;
  const dir = faceModelsDir(ctx.data.models);
  let models = byStore.get(dir);
  if (!models) {
    models = new FaceModels(dir);
    byStore.set(dir, models);
  }
  return models;
}
