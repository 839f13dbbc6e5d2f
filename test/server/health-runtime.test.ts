// /api/health says which execution provider the runtime uses, why the others were refused, and the
// precision each SD part's session was made in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ port: 0, dataDir: tempDir('health') });
});
afterAll(async () => {
  await server.close();
  removeTempDirs();
});

describe('/api/health runtime', () => {
  it('names the provider, the refused ones with a short reason, and each SD part made so far', async () => {
    const model = await loadSdModel('tiny', tempDir('health-models'));
    await model.session('unet');
    await model.session('text');
    const body = await (await fetch(`${server.url}/api/health`)).json();
    expect(body.ok).toBe(true);
    // This machine has no GPU: cuda is not installed and webgpu has no Vulkan loader or no adapter.
    expect(body.runtime.provider).toBe('cpu');
    expect(body.runtime.refused.map((r: { provider: string }) => r.provider)).toEqual(['cuda', 'webgpu']);
    expect(body.runtime.refused[0].reason).toBe('not installed');
    expect(body.runtime.refused[1].reason).toMatch(/^no (Vulkan loader|adapter|GPU device)$/);
    expect(body.runtime.precision).toBe('fp32');
    expect(body.runtime.parts).toMatchObject({ unet: { provider: 'cpu', precision: 'fp32' }, text: { provider: 'cpu', precision: 'fp32' } });
    expect(JSON.stringify(body)).not.toMatch(/\/(usr|tmp|work|home)\//);
    await model.release();
  });
});
