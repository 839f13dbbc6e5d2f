/**
 * PNG iTXt chunks: the save node embeds the graph in its PNGs, the editor reads it back from a dropped
 * file. Framework-free (Uint8Array only) so the browser uses the same code.
 */
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
export const GRAPH_PNG_KEYWORD = 'facechain-graph';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8); // a byte index: in the 256-entry table
  return (c ^ 0xffffffff) >>> 0;
}

function isPng(png: Uint8Array): boolean {
  return png.length > 8 && SIGNATURE.every((b, i) => png[i] === b);
}

interface Chunk {
  type: string;
  start: number;
  data: Uint8Array;
}

function* chunks(png: Uint8Array): Generator<Chunk> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let pos = 8;
  while (pos + 12 <= png.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > png.length) return;
    yield { type, start: pos, data: png.subarray(pos + 8, pos + 8 + length) };
    pos += 12 + length;
  }
}

/** Returns a copy of the PNG with an uncompressed iTXt chunk (UTF-8 text) inserted before IEND. */
export function addPngText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  if (!isPng(png)) throw new Error('Not a PNG file');
  const enc = new TextEncoder();
  const body = concat([enc.encode(keyword), new Uint8Array([0, 0, 0, 0, 0]), enc.encode(text)]);
  const typeAndData = concat([enc.encode('iTXt'), body]);
  const chunk = new Uint8Array(12 + body.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, body.length);
  chunk.set(typeAndData, 4);
  view.setUint32(8 + body.length, crc32(typeAndData));
  let iend = -1;
  for (const c of chunks(png)) if (c.type === 'IEND') iend = c.start;
  if (iend < 0) throw new Error('PNG has no IEND chunk');
  return concat([png.subarray(0, iend), chunk, png.subarray(iend)]);
}

/** Reads the uncompressed tEXt/iTXt entries of a PNG (keyword -> text). */
export function readPngText(png: Uint8Array): Record<string, string> {
  if (!isPng(png)) throw new Error('Not a PNG file');
  const dec = new TextDecoder();
  const out: Record<string, string> = {};
  for (const c of chunks(png)) {
    const nul = c.data.indexOf(0);
    if (nul < 0) continue;
    const keyword = dec.decode(c.data.subarray(0, nul));
    if (c.type === 'tEXt') out[keyword] = new TextDecoder('latin1').decode(c.data.subarray(nul + 1));
    if (c.type === 'iTXt' && c.data[nul + 1] === 0) {
      // keyword\0 flag method lang\0 translated\0 text
      let p = nul + 3;
      p = c.data.indexOf(0, p) + 1;
      p = c.data.indexOf(0, p) + 1;
      if (p > 0) out[keyword] = dec.decode(c.data.subarray(p));
    }
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
