// Every read and write of a data file goes through here. The path is checked first (safeJoin: no `..`,
// no absolute path, no link leading out), then opened, then the *opened file's* real path is checked
// again: a link swapped in between the check and the open cannot lead out of the folder.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { isInside, PathEscapeError, safeJoin } from './data-folder.ts';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const readFd = promisify(fs.readFile) as (fd: number) => Promise<Buffer>;
const writeFd = promisify(fs.writeFile) as (fd: number, data: Uint8Array | string) => Promise<void>;

/** A temporary name beside `target`, unique across processes. */
export function tempBeside(target: string): string {
  return `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** Where an open file really is: Linux names it in /proc; elsewhere the path's real file must be the open one. */
function realPathOf(fd: number, opened: string): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    const real = fs.realpathSync(opened);
    const [a, b] = [fs.fstatSync(fd), fs.statSync(real)];
    if (a.dev !== b.dev || a.ino !== b.ino) throw new PathEscapeError('The file changed while it was opened');
    return real;
  }
}

/**
 * Opens `relative` inside `base` and returns its descriptor. `read`: a regular file whose real path is in
 * `base` (a link inside the folder may point elsewhere inside it; O_NONBLOCK so a FIFO cannot hang the
 * open, it is refused as not a file). `create`: a new file (O_EXCL, O_NOFOLLOW: never an existing one,
 * never through a link); if its real path turns out to be outside, it is removed again.
 */
export function openInside(base: string, relative: string, how: 'read' | 'create'): number {
  const file = safeJoin(base, relative);
  let fd: number;
  try {
    fd = how === 'read' ? fs.openSync(file, O_RDONLY | O_NONBLOCK) : fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (e) {
    throw refusedOpen(e, relative);
  }
  return checkOpened(base, relative, file, fd, how);
}

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const renameFile = promisify(fs.rename);

/** openInside's `create`, with the open off the event loop (a record write must not hold up a run's events). */
async function createInside(base: string, relative: string): Promise<number> {
  const file = safeJoin(base, relative);
  let fd: number;
  try {
    fd = await openFd(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (e) {
    throw refusedOpen(e, relative);
  }
  return checkOpened(base, relative, file, fd, 'create');
}

function refusedOpen(e: unknown, relative: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ELOOP' || code === 'EEXIST' ? new PathEscapeError(`Path "${relative}" is already there or is a link, which is not written through`) : e;
}

/** The opened file's real path must be inside `base` and it must be a regular file; else it is closed (and a new one removed). */
function checkOpened(base: string, relative: string, file: string, fd: number, how: 'read' | 'create'): number {
  try {
    if (!isInside(fs.realpathSync(base), realPathOf(fd, file))) throw new PathEscapeError(`Path "${relative}" leaves its folder`);
    if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error(`"${relative}" is not a file`), { code: 'EISDIR' });
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    if (how === 'create') fs.rmSync(file, { force: true });
    throw e;
  }
}

/** The bytes of a file inside `base` (see openInside). */
export async function readInside(base: string, relative: string): Promise<Buffer> {
  const fd = openInside(base, relative, 'read');
  try {
    return await readFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readInsideSync(base: string, relative: string): Buffer {
  const fd = openInside(base, relative, 'read');
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a file inside `base` whole or not at all: into a new temporary file beside it, then renamed
 * over it (a rename replaces a link at the target, it never writes through it).
 */
export async function writeInside(base: string, relative: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempBeside(relative);
  const fd = await createInside(base, tmp);
  try {
    try {
      await writeFd(fd, data);
    } finally {
      await closeFd(fd);
    }
    await renameFile(safeJoin(base, tmp), safeJoin(base, relative));
  } catch (e) {
    fs.rmSync(safeJoin(base, tmp), { force: true });
    throw e;
  }
}
