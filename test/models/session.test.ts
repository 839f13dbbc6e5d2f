import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { createSession, gpuDevicePresent, providerChoice, providerLine, providerOrder, resetProviderChoice } from '../../models/session/providers.ts';
import { tempDir } from '../helpers/temp.ts';
import { ort, type OrtSession } from '../../models/session/ort.ts';

function doubler(): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [3]);
  b.output(b.add(x, x), 'y');
  return b.toBytes();
}

async function runDoubler(session: OrtSession) {
  const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3]), [3]) });
  return [...(out.y!.data as Float32Array)];
}

const saved = process.env.FACECHAIN_EP;
afterEach(() => {
  if (saved === undefined) delete process.env.FACECHAIN_EP;
  else process.env.FACECHAIN_EP = saved;
  resetProviderChoice();
});

describe('execution providers', () => {
  it('falls back from cuda and webgpu to cpu here, keeping the reasons', async () => {
    delete process.env.FACECHAIN_EP;
    const logged: string[] = [];
    const session = await createSession(doubler(), {}, (m) => logged.push(m));
    expect(await runDoubler(session)).toEqual([2, 4, 6]);
    const choice = providerChoice()!;
    // No CUDA binaries are installed (.npmrc turns install scripts off); WebGPU needs a Vulkan adapter, which these
    // machines lack, but a machine with one would stop there.
    expect(['webgpu', 'cpu']).toContain(choice.provider);
    // Without a GPU device, Vulkan's only adapter is lavapipe (a CPU rasteriser): WebGPU is not chosen on it.
    if (!gpuDevicePresent()) expect(choice.provider).toBe('cpu');
    expect(choice.fallbacks.map((f) => f.provider)).toEqual(choice.provider === 'cpu' ? ['cuda', 'webgpu'] : ['cuda']);
    for (const f of choice.fallbacks) expect(f.reason.length).toBeGreaterThan(10);
    expect(choice.fallbacks[0]!.reason).toMatch(/cuda/i);
    // One short line for the whole choice, e.g. `execution provider: cpu (cuda: not installed, webgpu: no Vulkan loader)`.
    expect(logged).toEqual([providerLine(choice, false)]);
    expect(logged[0]).toMatch(/^execution provider: (cpu|webgpu) \(cuda: not installed(, webgpu: (no Vulkan loader|no adapter|no GPU device))?\)$/);
    expect(providerLine(choice, true)).toContain(choice.fallbacks[0]!.reason);
    // The choice is reused: nothing more is said for the next session.
    await createSession(doubler(), {}, (m) => logged.push(m));
    expect(logged).toHaveLength(1);
  });

  it('probes once when the first sessions are created together', async () => {
    delete process.env.FACECHAIN_EP;
    const logged: string[] = [];
    const all = await Promise.all([1, 2, 3].map(() => createSession(doubler(), {}, (m) => logged.push(m))));
    for (const s of all) expect(await runDoubler(s)).toEqual([2, 4, 6]);
    expect(logged).toHaveLength(1);
  });

  it('sees a GPU device only through a render node, an NVIDIA device or /dev/dxg', () => {
    if (process.platform !== 'linux') return;
    const dev = tempDir('dev');
    expect(gpuDevicePresent(dev)).toBe(false);
    mkdirSync(path.join(dev, 'dri'));
    writeFileSync(path.join(dev, 'dri', 'card0'), '');
    expect(gpuDevicePresent(dev)).toBe(false);
    writeFileSync(path.join(dev, 'dri', 'renderD128'), '');
    expect(gpuDevicePresent(dev)).toBe(true);
    const nvidia = tempDir('dev');
    writeFileSync(path.join(nvidia, 'nvidia0'), '');
    expect(gpuDevicePresent(nvidia)).toBe(true);
  });

  it('honours FACECHAIN_EP and rejects unknown names', async () => {
    process.env.FACECHAIN_EP = 'cpu';
    await createSession(doubler());
    expect(providerChoice()).toEqual({ provider: 'cpu', fallbacks: [] });
    expect(providerOrder('webgpu, CPU')).toEqual(['webgpu', 'cpu']);
    expect(() => providerOrder('tpu,cpu')).toThrow(/unknown execution provider tpu/);
    process.env.FACECHAIN_EP = 'cuda';
    resetProviderChoice();
    await expect(createSession(doubler())).rejects.toThrow(/No execution provider worked: cuda: /);
  });
});

describe('onnxruntime telemetry', () => {
  it('is off: a process that runs a session through the seam leaves no device id, event store or log', () => {
    // ORT puts its device id and unsent events under $HOME/.cache/Microsoft and a log (mat-debug-PID.log)
    // and .ses file in $TMPDIR: both point at empty folders here.
    const [home, tmp, code] = [tempDir('telemetry-home'), tempDir('telemetry-tmp'), tempDir('telemetry-code')];
    const script = path.join(code, 'probe.mts');
    const from = (p: string) => JSON.stringify(path.resolve(import.meta.dirname, '../../models', p));
    writeFileSync(script, `import { createSession } from ${from('session/providers.ts')};
import { ort } from ${from('session/ort.ts')};
import { GraphBuilder } from ${from('onnx/index.ts')};
const b = new GraphBuilder();
const x = b.input('x', 'float32', [3]);
b.output(b.add(x, x), 'y');
const s = await createSession(b.toBytes(), { executionProviders: ['cpu'] });
console.log([...(await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [3]) })).y!.data].join(','));
await s.release();
`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(import.meta.dirname, '../..'), encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('2,4,6');
    expect(existsSync(path.join(home, '.cache', 'Microsoft'))).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('mat-debug') || f.endsWith('.ses'))).toEqual([]);
  });
});
