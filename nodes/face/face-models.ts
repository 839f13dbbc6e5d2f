// Where the preprocessing nodes get the face models: the executor's services (a test's set, or one made
// on first use, converted into models/converted/face).
import { FaceModels, faceModelsDir } from '../../models/face/face-models.ts';
import type { RunContext } from '../../runtime/node.ts';
import { sessionCache } from '../session-cache.ts';

declare module '../../runtime/node.ts' {
  interface Services {
    faceModels?: FaceModels;
  }
}

export function faceModels(ctx: RunContext): FaceModels {
  ctx.services.faceModels ??= new FaceModels(faceModelsDir(ctx.data.models), sessionCache(ctx));
  return ctx.services.faceModels;
}
