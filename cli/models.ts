import { KNOWN_MODELS } from '../models/known.ts';
import { inventory, type InventoryItem } from '../models/store/inventory.ts';
import type { KnownModels } from '../models/store/known.ts';
import { MODEL_KINDS } from '../models/store/folders.ts';
import { openDataFolders } from '../runtime/data-folder.ts';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function describe(item: InventoryItem): string {
  if (item.kind === 'folder') return 'diffusers folder (not hashed)';
  if (item.folder === 'converted') return 'built by FaceChain Studio';
  if (item.known) return `${item.known.id}: ${item.known.description} (${item.known.licence})`;
  if (item.sha256) return `unknown model, sha256 ${item.sha256.slice(0, 10)}`;
  const guess = item.sameSize.length ? `; same size as ${item.sameSize.map((m) => m.id).join(', ')}` : '';
  return `no cached hash yet${guess}`;
}

/**
 * `facechain models`: each model folder's files and which are known models, then the known models and
 * where each is. Only cached hashes are used unless `hash` is set.
 */
export async function modelsCommand(
  flags: { data?: string; hash?: boolean; json?: boolean },
  known: KnownModels = KNOWN_MODELS,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const { models } = openDataFolders(flags.data);
  const items = await inventory(models, known, {
    hash: flags.hash,
    onHash: (item) => process.stderr.write(`hashing ${item.folder}/${item.path} (${mb(item.size)})\n`),
  });
  if (flags.json) {
    const found = (id: string) => items.filter((i) => i.known?.id === id).map((i) => `${i.folder}/${i.path}`);
    write(`${JSON.stringify({
      models,
      files: items.map(({ known: k, sameSize, ...rest }) => ({ ...rest, known: k?.id, sameSize: sameSize.map((m) => m.id) })),
      known: known.all.map((m) => ({ ...m, found: found(m.id) })),
    }, null, 2)}\n`);
    return 0;
  }
  const lines = [`Model folders in ${models}`];
  for (const folder of MODEL_KINDS) {
    const mine = items.filter((i) => i.folder === folder);
    lines.push(`${folder}/${mine.length ? '' : '  (empty)'}`);
    const width = Math.max(0, ...mine.map((i) => i.path.length + (i.kind === 'folder' ? 1 : 0)));
    for (const i of mine) {
      const name = i.kind === 'folder' ? `${i.path}/` : i.path;
      lines.push(`  ${name.padEnd(width)}  ${mb(i.size).padStart(10)}  ${describe(i)}`);
    }
  }
  lines.push('', `Known models (${known.all.length}):`);
  for (const m of known.all) {
    const here = items.filter((i) => i.known?.id === m.id).map((i) => `${i.folder}/${i.path}`);
    const where = m.package ? `ships in ${m.package}` : here.length ? `found: ${here.join(', ')}` : `not found (${m.files.map((f) => f.path).join(', ')} from ${m.source})`;
    lines.push(`  ${m.id.padEnd(20)} ${m.kind.padEnd(12)} ${m.licence.padEnd(24)} ${where}`);
  }
  const unhashed = items.filter((i) => i.kind === 'file' && i.folder !== 'converted' && !i.sha256).length;
  if (unhashed) lines.push('', `${unhashed} file(s) have no cached hash yet: \`facechain models --hash\` computes them (a checkpoint takes a while).`);
  write(`${lines.join('\n')}\n`);
  return 0;
}
