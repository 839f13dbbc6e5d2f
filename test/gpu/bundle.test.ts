// `npm run gpu-bundle`: the folder for an offline GPU machine is under 60 MiB, its run.sh says "no GPU"
// in one line here and exits 0, and the bundled check really runs from it (on the CPU, --allow-cpu).
// Building compresses about 145 MB with xz: a minute on an idle 2-core machine, far more when busy.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_LIMIT_BYTES, folderBytes, writeGpuBundle } from '../../gpu/bundle.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

let out: string;
beforeAll(async () => {
  out = path.join(tempDir('gpu-bundle'), 'gpu-bundle');
  await writeGpuBundle(out);
}, 1_800_000);
afterAll(() => removeTempDirs());

describe('the GPU bundle', () => {
  it('holds the payload, the Vulkan loader .deb and run.sh, under 60 MiB', () => {
    const files = readdirSync(out).sort();
    expect(files.slice(1)).toEqual(['payload.tar.xz', 'run.sh']);
    expect(files[0]).toMatch(/^libvulkan1_.*_amd64\.deb$/);
    const bytes = folderBytes(out);
    console.log(`gpu bundle: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    expect(bytes).toBeLessThanOrEqual(BUNDLE_LIMIT_BYTES);
    const listing = execFileSync('tar', ['-tJf', path.join(out, 'payload.tar.xz')], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(listing).toContain('node/bin/node');
    expect(listing).toContain('app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
    expect(listing).not.toMatch(/napi-v6\/(darwin|win32)/);
    expect(listing).toContain('app/node_modules/@img/sharp-libvips-linux-x64/');
  });

  it('run.sh says "no GPU" in one line on this machine and exits 0', () => {
    const r = spawnSync(path.join(out, 'run.sh'), [], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^no GPU: /);
    expect(r.stdout).toContain('/usr/local/nvidia/share/vulkan/icd.d');
  });

  /** run.sh --allow-cpu --tiny-only from `dir` with `PATH`: the check's JSON. */
  function runCheck(dir: string, PATH: string) {
    const json = path.join(dir, 'check.json');
    const r = spawnSync(path.join(dir, 'run.sh'), ['--allow-cpu', '--tiny-only', '--out', json], { encoding: 'utf8', env: { PATH, FACECHAIN_PRECISION: 'fp16' }, timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(readFileSync(json, 'utf8'));
  }

  it('runs the bundled check with its own Node (on the CPU here)', () => {
    const result = runCheck(out, process.env.PATH!);
    expect(result.provider).toBe('cpu');
    const text = result.rows.find((row: { check: string }) => row.check.startsWith('parity tiny text'));
    expect(text.value).toBeLessThan(2e-2);
    expect(text.check).toContain('fp16 vs cpu fp32');
    // The final image against the float32 CPU reference, which the bundled check renders in a child of itself.
    const image = result.rows.find((row: { check: string }) => row.check.startsWith('txt2img tiny 64x64, 4 steps: final image'));
    expect(image.check).toContain('cpu fp16 vs cpu fp32');
    expect(image.value).toBeGreaterThan(35);
    expect(image.value).toBeLessThan(80);
  }, 600_000);

  it('unpacks with python3 where there is no xz, dpkg-deb, ar, ldconfig or Node (as on a bare GPU image)', () => {
    const copy = path.join(tempDir('gpu-bundle-bare'), 'gpu-bundle');
    cpSync(out, copy, { recursive: true, filter: (f) => !f.includes(`${path.sep}unpacked`) });
    const bin = tempDir('bare-bin');
    for (const tool of ['dirname', 'mkdir', 'grep', 'ls', 'head', 'rm']) {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
    }
    // The interpreter itself, not a wrapper on the PATH (pyenv's shims run bash).
    symlinkSync(execFileSync('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'], { encoding: 'utf8' }).trim(), path.join(bin, 'python3'));
    const result = runCheck(copy, bin);
    expect(result.provider).toBe('cpu');
    expect(result.rows.find((row: { check: string }) => row.check === 'the whole check').value).toBeGreaterThan(0);
    // Without ldconfig to find the system's loader, the bundled one was unpacked from its .deb.
    expect(existsSync(path.join(copy, 'unpacked', 'vulkan', 'usr', 'lib', 'x86_64-linux-gnu', 'libvulkan.so.1'))).toBe(true);
  }, 600_000);
});
