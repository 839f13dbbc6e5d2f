import { readdirSync } from 'node:fs';
import { safeJoin, type DataFolders } from './data-folder.ts';

const UPLOAD_ID = /^[0-9a-f]{16}$/;

/** An upload id (what POST /api/uploads answers) stands for its file in uploads/, whatever its extension. */
export function resolveUploadId(data: DataFolders, relative: string): string {
  if (!UPLOAD_ID.test(relative)) return relative;
  const uploads = safeJoin(data.input, 'uploads');
  let match: string | undefined;
  try {
    match = readdirSync(uploads).find((f) => f.startsWith(`${relative}.`));
  } catch {
    // No uploads yet.
  }
  return match ? `uploads/${match}` : relative;
}
