import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { convertedPath, faceModelsDir } from '../../models/face/face-models.ts';
import { FACE_MODELS } from '../../models/face/registry.ts';
import { tempDir } from '../helpers/temp.ts';

const data = tempDir('prepare');

test('models:prepare writes every face model where the face nodes read them, and nothing else', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'models/face/prepare.ts', data],
    { env: { ...process.env, FACECHAIN_EP: 'cpu' } },
  );
  const nodesDir = faceModelsDir(path.join(data, 'models'));
  for (const m of FACE_MODELS) {
    const file = convertedPath(nodesDir, m.id);
    expect(existsSync(file), `${m.id} at ${file}`).toBe(true);
    expect(stdout).toContain(file);
  }
  expect(readdirSync(nodesDir).sort()).toEqual(FACE_MODELS.map((m) => path.basename(convertedPath(nodesDir, m.id))).sort());
  // No second copy one folder up, where the command used to write.
  expect(readdirSync(path.join(data, 'models', 'converted'))).toEqual(['face']);
});
