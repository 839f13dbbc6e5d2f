// `npm run gpu-bundle [-- OUT]` (default ./gpu-bundle): one folder to copy to an offline x86-64 Linux
// GPU machine, which needs neither Node.js nor network there:
//   payload.tar.xz   this Node binary, gpu/check.ts bundled into one file (esbuild), session-thread.js,
//                    and the runtime node_modules: onnxruntime-node (Linux x64 library only) and
//                    onnxruntime-common
//   libvulkan1_*.deb Debian's Vulkan loader (`apt-get download libvulkan1`), unpacked without root
//   run.sh           finds the GPU's Vulkan driver (ICD), unpacks, runs the check (gpu/run.sh)
// The folder stays under 60 MiB (test/gpu/bundle.test.ts builds it and checks).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
export const BUNDLE_LIMIT_BYTES = 60 * 2 ** 20;

/** Bytes of every file under `dir`. */
export function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(path.join(e.parentPath, e.name)).size, 0);
}

export async function writeGpuBundle(out: string): Promise<void> {
  const stage = path.join(os.tmpdir(), `facechain-gpu-bundle-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  try {
    const app = path.join(stage, 'app');
    await build({
      entryPoints: [path.join(ROOT, 'gpu', 'check.ts')],
      outfile: path.join(app, 'gpu', 'check.mjs'),
      bundle: true, platform: 'node', format: 'esm', target: 'node20', minify: true, logLevel: 'warning',
      // Native modules travel as packages: onnxruntime-node, and sharp (image IO of the SD code) with libvips.
      external: ['onnxruntime-node', 'sharp'],
      // Bundled CommonJS dependencies call require(): give the ES module one.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    // ThreadSession starts its worker from this file beside the code (new URL('./session-thread.js', ...)).
    cpSync(path.join(ROOT, 'models', 'session', 'session-thread.js'), path.join(app, 'gpu', 'session-thread.js'));
    const modules = path.join(ROOT, 'node_modules');
    const ortNode = path.join(modules, 'onnxruntime-node');
    const to = (p: string) => path.join(app, 'node_modules', path.relative(modules, p));
    for (const p of ['package.json', 'dist', 'bin/napi-v6/linux/x64']) cpSync(path.join(ortNode, p), to(path.join(ortNode, p)), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
    const common = path.join(modules, 'onnxruntime-common');
    for (const p of ['package.json', 'dist']) cpSync(path.join(common, p), to(path.join(common, p)), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
    for (const pkg of ['sharp', 'detect-libc', 'semver', '@img/colour', '@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64']) {
      const dir = path.join(modules, pkg);
      cpSync(dir, to(dir), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') && !/[/\\](src|install)$/.test(f) });
    }
    mkdirSync(path.join(stage, 'node', 'bin'), { recursive: true });
    cpSync(process.execPath, path.join(stage, 'node', 'bin', 'node'));
    execFileSync('tar', ['-cf', path.join(out, 'payload.tar.xz'), '-I', 'xz -T0 -6', '-C', stage, 'app', 'node']);
    execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] });
    cpSync(path.join(ROOT, 'gpu', 'run.sh'), path.join(out, 'run.sh'));
    chmodSync(path.join(out, 'run.sh'), 0o755);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  const bytes = folderBytes(out);
  if (bytes > BUNDLE_LIMIT_BYTES) throw new Error(`the GPU bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the 60 MiB limit`);
}

if (import.meta.filename === process.argv[1]) {
  const out = path.resolve(process.argv[2] ?? 'gpu-bundle');
  await writeGpuBundle(out);
  console.log(`wrote ${out} (${(folderBytes(out) / 2 ** 20).toFixed(1)} MiB): copy it to the GPU machine and run ./run.sh there`);
}
