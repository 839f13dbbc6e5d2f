import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const npm = (...args: string[]) =>
  promisify(execFile)('npm', args, {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  });

test('npm commands in the project print no warning (no unknown .npmrc keys)', async () => {
  const { stdout, stderr } = await npm('pkg', 'get', 'name');
  expect(stdout.trim()).toBe('"facechain-studio"');
  expect(stderr).toBe('');
});

test("dependencies' install scripts are off (onnxruntime-node's downloads CUDA binaries from outside npm)", async () => {
  const { stdout } = await npm('config', 'get', 'ignore-scripts');
  expect(stdout.trim()).toBe('true');
});
