// A Redis run's outputs on the shared folder (issue 14): raw pixels read back exactly, made PNG by the
// route; the newest runs kept within a count and a byte budget; a torn file refused, not served.
import { readdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDataFolders } from '../../runtime/data-folder.ts';
import type { Image } from '../../runtime/values.ts';
import { readOutputCounts, readRunOutput, RUN_OUTPUTS, writeRunOutputs } from '../../server/queue/run-outputs.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

afterAll(removeTempDirs);

const image = (width: number, height: number, channels: 1 | 3 | 4, seed: number): Image => ({
  width, height, channels, data: Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 7 + seed) % 256),
});
const runId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

it('reads back each image as written, with the counts per node and port', async () => {
  const data = openDataFolders(tempDir('run-outputs'));
  const photos = [image(5, 3, 3, 1), image(2, 7, 4, 2)];
  const mask = image(4, 4, 1, 3);
  await writeRunOutputs(data, runId(1), new Map<string, Record<string, unknown>>([['load', { images: photos, count: 2 }], ['m', { mask }], ['t', { text: 'x' }]]));
  expect(readOutputCounts(data, runId(1))).toEqual({ load: { images: 2 }, m: { mask: 1 } });
  expect(await readRunOutput(data, runId(1), 'load', 'images', 1)).toEqual(photos[1]);
  expect(await readRunOutput(data, runId(1), 'm', 'mask', 0)).toEqual(mask);
  for (const [node, port, i] of [['load', 'images', 2], ['load', 'images', -1], ['t', 'text', 0], ['x', 'images', 0]] as const) expect(await readRunOutput(data, runId(1), node, port, i)).toBeUndefined();
  expect(readOutputCounts(data, runId(2))).toBeUndefined();
});

it('keeps the newest runs within the count and the byte budget, and refuses a torn file', async () => {
  const data = openDataFolders(tempDir('run-outputs'));
  const root = path.join(data.output, RUN_OUTPUTS);
  const write = (n: number, bytes: number) => writeRunOutputs(data, runId(n), new Map([['n', { image: image(bytes, 1, 1, n) }]]), { runs: 3, bytes: 100 });
  for (const n of [1, 2, 3, 4]) await write(n, 10);
  expect(readdirSync(root).sort()).toEqual([2, 3, 4].map(runId));
  // 60 + 50 > 100: only the newest stays; one alone over the budget is still kept.
  await write(5, 50);
  await write(6, 60);
  expect(readdirSync(root).sort()).toEqual([runId(6)]);
  await write(7, 150);
  expect(readdirSync(root).sort()).toEqual([runId(7)]);

  const file = readdirSync(path.join(root, runId(7))).find((f) => f.endsWith('.raw'))!;
  truncateSync(path.join(root, runId(7), file), 149);
  await expect(readRunOutput(data, runId(7), 'n', 'image', 0)).rejects.toThrow('holds 149 bytes, not the 150x1x1');
});
