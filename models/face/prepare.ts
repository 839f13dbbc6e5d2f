// `npm run models:prepare [data folder]`: converts every face model from node_modules into the data
// folder's converted cache now, so the first run of a face node does not pay for it.
import { statSync } from 'node:fs';
import { convertedCacheDir, prepareFaceModels } from './face-models.ts';

const dir = convertedCacheDir(process.argv[2]);
const started = performance.now();
const paths = await prepareFaceModels(dir);
for (const [id, path] of Object.entries(paths)) {
  console.log(`${id.padEnd(16)} ${(statSync(path).size / 1e6).toFixed(2).padStart(6)} MB  ${path}`);
}
console.log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
