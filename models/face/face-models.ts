// The face models as one object: converts each from node_modules on first use into the converted
// cache (file name keyed by the source hashes), opens its session once, and offers typed calls.
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { tempBeside } from '../../runtime/safe-open.ts';
import { fromOrtTensor, toOrtTensor } from '../session/tensors.ts';
import { ownSession, type SessionManager } from '../session/manager.ts';
import { detectFaces, type DetectOptions } from './detect.ts';
import { runFaceRes, type FaceResResult } from './faceres.ts';
import { FACE_MODELS, faceModelSpec, type FaceModelId } from './registry.ts';
import type { ModelRunner } from './runner.ts';
import { segmentPerson, type PersonMask, type SegmentationModel } from './segmentation.ts';
import { oarriagaGender, ssrnetAge } from './small-attributes.ts';
import { conversionKey, convertFaceModel } from './source.ts';
import type { DetectedFace, FaceAttributes, Landmarks5, RawImage } from './types.ts';

/** The face models' converted cache inside a model store (`<models>/converted/face`). */
export function faceModelsDir(modelsDir: string): string {
  return join(modelsDir, 'converted', 'face');
}

/** The same folder for a data folder: where `npm run models:prepare` writes and the nodes read. */
export function convertedCacheDir(dataRoot?: string): string {
  return faceModelsDir(openDataFolders(dataRoot).models);
}

/** Where a model's conversion lives in the cache folder. */
export function convertedPath(cacheDir: string, id: FaceModelId): string {
  return join(cacheDir, `${id}-${conversionKey(faceModelSpec(id)).slice(0, 16)}.onnx`);
}

/** Converts a model into the cache unless it is there already; returns its path. */
export async function ensureConverted(cacheDir: string, id: FaceModelId): Promise<string> {
  const path = convertedPath(cacheDir, id);
  if (existsSync(path)) return path;
  await mkdir(cacheDir, { recursive: true });
  const tmp = tempBeside(path);
  await writeFile(tmp, await convertFaceModel(faceModelSpec(id)), { flag: 'wx' });
  await rename(tmp, path);
  return path;
}

/** Converts every registered face model into the cache; returns their paths. */
export async function prepareFaceModels(cacheDir: string): Promise<Record<FaceModelId, string>> {
  const out = {} as Record<FaceModelId, string>;
  for (const m of FACE_MODELS) out[m.id] = await ensureConverted(cacheDir, m.id);
  return out;
}

/** Anything with five landmarks: a DetectedFace, or a face found elsewhere. */
type WithLandmarks = Pick<DetectedFace, 'landmarks'>;
const landmarksOf = (faces: readonly WithLandmarks[]): Landmarks5[] => faces.map((f) => f.landmarks);

export class FaceModels {
  private readonly runners = new Map<FaceModelId, Promise<ModelRunner>>();

  /**
   * `cacheDir`: the converted-model cache folder; `sessions`: the session cache to open the models
   * through (an executor's), else each model's session is this object's own.
   */
  constructor(
    private readonly cacheDir: string,
    private readonly sessions?: SessionManager,
  ) {}

  runner(id: FaceModelId): Promise<ModelRunner> {
    let r = this.runners.get(id);
    if (!r) {
      r = this.open(id);
      this.runners.set(id, r);
      r.catch(() => this.runners.delete(id));
    }
    return r;
  }

  /** Faces with box, scores, 5 landmarks, roll and the 468-point mesh. */
  async detect(img: RawImage, options?: DetectOptions): Promise<DetectedFace[]> {
    const [blazeface, facemesh] = await Promise.all([this.runner('blazeface-back'), this.runner('facemesh')]);
    return detectFaces(img, { blazeface, facemesh }, options);
  }

  /** FaceRes per face: unit 1024-d identity descriptor, gender and age. */
  async describe(img: RawImage, faces: readonly WithLandmarks[]): Promise<FaceResResult[]> {
    return runFaceRes(img, landmarksOf(faces), await this.runner('faceres'));
  }

  /** SSR-Net age in years per face. */
  async age(img: RawImage, faces: readonly WithLandmarks[]): Promise<number[]> {
    return ssrnetAge(img, landmarksOf(faces), await this.runner('ssrnet-age'));
  }

  /** oarriaga's gender classifier per face (a second opinion; FaceRes's is the more reliable). */
  async gender(img: RawImage, faces: readonly WithLandmarks[]): Promise<Pick<FaceAttributes, 'gender' | 'genderScore'>[]> {
    return oarriagaGender(img, landmarksOf(faces), await this.runner('oarriaga-gender'));
  }

  /** Person mask at the image's size (255 = person). */
  async segment(img: RawImage, kind: SegmentationModel = 'selfie'): Promise<PersonMask> {
    return segmentPerson(img, kind, await this.runner(kind));
  }

  private async open(id: FaceModelId): Promise<ModelRunner> {
    const path = await ensureConverted(this.cacheDir, id);
    const { session } = await (this.sessions ? this.sessions.acquire({ model: path }) : ownSession({ model: path }));
    return {
      async run(feeds) {
        const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v)])));
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrtTensor(v)]));
      },
    };
  }
}
