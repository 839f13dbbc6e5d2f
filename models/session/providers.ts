// Execution-provider choice: ORT has no automatic fallback (asking for cuda without its binaries throws),
// so each provider is tried in order, the reason it failed is kept, and the first that works is reused.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphBuilder } from '../onnx/index.ts';
import type { OrtSession, OrtSessionOptions } from './ort.ts';
import { ThreadSession } from './thread-session.ts';
import { withThreads } from './threads.ts';

export const PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface ProviderChoice {
  provider: Provider;
  /** Providers tried before it, with ORT's reason. */
  fallbacks: { provider: Provider; reason: string }[];
}

/** The order to try: `FACECHAIN_EP` (e.g. `cpu`, `webgpu,cpu`) or cuda, webgpu, cpu. */
export function providerOrder(env = process.env.FACECHAIN_EP): Provider[] {
  if (!env?.trim()) return [...PROVIDERS];
  const names = env.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = names.filter((n) => !(PROVIDERS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`FACECHAIN_EP: unknown execution provider ${bad.join(', ')} (use ${PROVIDERS.join(', ')})`);
  return names as Provider[];
}

let chosen: ProviderChoice | undefined;
let chosenFor: string | undefined;

/** The provider this process uses (decided by the first session), with the reasons for any fallback. */
export function providerChoice(): ProviderChoice | undefined {
  return chosen;
}

/**
 * Creates a session on the first provider of `providerOrder()` that works, in its own thread
 * (ThreadSession), with the process's thread settings (threads.ts) unless `options` sets its own. Once
 * a provider has worked, later sessions go straight to it. Options that set `executionProviders` get
 * those and no choice. `log` hears one line about the choice when a
 * provider before it failed (providerLine).
 */
export async function createSession(
  model: string | Uint8Array,
  options: OrtSessionOptions = {},
  log: (message: string) => void = (m) => console.warn(m),
  /** Sessions given the same name share one worker thread (ThreadSession). */
  thread?: string,
): Promise<OrtSession> {
  // A session that names its provider gets it, whatever the process chose.
  if (options.executionProviders?.length) return ThreadSession.create(model, withThreads(options), thread);
  // Sessions asked for while the first is still probing wait for its outcome instead of probing again.
  while (probing) await probing.catch(() => undefined);
  const order = providerOrder();
  const key = order.join(',');
  if (chosen && chosenFor === key) return create(model, options, chosen.provider, thread);
  const attempt = probe(model, options, order, log, thread);
  probing = attempt;
  try {
    return await attempt;
  } finally {
    if (probing === attempt) probing = undefined;
  }
}

let probing: Promise<OrtSession> | undefined;

async function probe(model: string | Uint8Array, options: OrtSessionOptions, order: Provider[], log: (message: string) => void, thread?: string): Promise<OrtSession> {
  const fallbacks: ProviderChoice['fallbacks'] = [];
  for (const provider of order) {
    try {
      const session = await create(model, options, provider, thread);
      chosen = { provider, fallbacks };
      chosenFor = order.join(',');
      if (fallbacks.length) log(providerLine(chosen));
      return session;
    } catch (e) {
      fallbacks.push({ provider, reason: (e as Error).message.split('\n')[0]! });
    }
  }
  throw new Error(`No execution provider worked: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

/**
 * The one line a process prints about its provider: `execution provider: cpu (cuda: not installed,
 * webgpu: no adapter)`; FACECHAIN_VERBOSE=1 gives ORT's whole reasons instead of the short ones.
 */
export function providerLine(choice: ProviderChoice, verbose = !!process.env.FACECHAIN_VERBOSE): string {
  const why = choice.fallbacks.map((f) => `${f.provider}: ${verbose ? f.reason : shortReason(f.reason)}`);
  return `execution provider: ${choice.provider}${why.length ? ` (${why.join(', ')})` : ''}`;
}

/** The provider in use and each refused one with its short reason (for /api/health and the editor). */
export function providerSummary(choice: ProviderChoice): { provider: Provider; refused: { provider: Provider; reason: string }[] } {
  return { provider: choice.provider, refused: choice.fallbacks.map((f) => ({ provider: f.provider, reason: shortReason(f.reason) })) };
}

function shortReason(reason: string): string {
  if (/binaries are not installed/.test(reason)) return 'not installed';
  if (/no Vulkan loader/.test(reason)) return 'no Vulkan loader';
  if (/No supported adapters|Failed to get a WebGPU adapter/i.test(reason)) return 'no adapter';
  if (/^no GPU device/.test(reason)) return 'no GPU device';
  return reason.length > 80 ? `${reason.slice(0, 77)}...` : reason;
}

const VULKAN_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/lib64'];

/**
 * Dawn (ORT's WebGPU) needs the Vulkan loader on Linux; without it Dawn prints a native warning with a
 * stack line before failing, so its absence is said up front instead.
 */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...VULKAN_DIRS];
  return !dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

/**
 * Whether the kernel exposes a GPU: a DRM render node, an NVIDIA device or WSL's /dev/dxg. Without one,
 * the only Vulkan adapter Dawn can find is a software rasteriser (Mesa's lavapipe, installed with
 * mesa-vulkan-drivers): WebGPU then runs on the CPU about 27x slower than the CPU provider, and a
 * 512x512 SD run on it did not finish (bench sd-cpu). Not checked off Linux.
 */
export function gpuDevicePresent(dev = '/dev'): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readdirSync(path.join(dev, 'dri')).some((f) => f.startsWith('renderD'))) return true;
  } catch {
    // no /dev/dri
  }
  return ['nvidia0', 'dxg'].some((f) => existsSync(path.join(dev, f)));
}

/**
 * Where onnxruntime-node keeps the CUDA provider library it installs on request: asking for cuda without
 * it makes ORT print a native error before throwing, so its absence is said up front instead.
 */
function cudaLibrary(): string {
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return path.join(bin, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so');
}

/** Whether onnxruntime-node's CUDA provider library has been installed (see the README on enabling CUDA). */
export function cudaInstalled(): boolean {
  return existsSync(cudaLibrary());
}

function create(model: string | Uint8Array, options: OrtSessionOptions, provider: Provider, thread?: string): Promise<OrtSession> {
  if (provider === 'cuda' && !cudaInstalled()) {
    return Promise.reject(new Error(`cuda binaries are not installed (${path.basename(cudaLibrary())}; see the README on enabling CUDA)`));
  }
  if (provider === 'webgpu' && vulkanLoaderMissing()) {
    return Promise.reject(new Error('no Vulkan loader (libvulkan.so.1; on Debian: apt install libvulkan1)'));
  }
  // Chosen by default only on a real GPU; FACECHAIN_EP=webgpu still gets a software adapter (tests of the WebGPU path).
  if (provider === 'webgpu' && !process.env.FACECHAIN_EP?.trim() && !gpuDevicePresent()) {
    return Promise.reject(new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia0 or /dev/dxg): Vulkan could only offer a CPU rasteriser, slower than the CPU provider; FACECHAIN_EP=webgpu forces it'));
  }
  return ThreadSession.create(model, { ...withThreads(options), executionProviders: [provider] }, thread);
}

/**
 * The provider this process uses, choosing it first with a one-node model when no session has yet
 * (so a model can be built for the provider before its session is made).
 */
export async function ensureProviderChoice(): Promise<ProviderChoice> {
  if (!chosen || chosenFor !== providerOrder().join(',')) {
    const b = new GraphBuilder({ graphName: 'provider-probe' });
    b.output(b.identity(b.input('x', 'float32', [1])), 'y');
    await (await createSession(b.toBytes())).release();
  }
  return chosen!;
}

/** Forgets the chosen provider (tests that change FACECHAIN_EP). */
export function resetProviderChoice(): void {
  chosen = undefined;
  chosenFor = undefined;
}
