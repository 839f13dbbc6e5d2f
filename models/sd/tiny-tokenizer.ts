import { clipTokenizerJson } from './clip-tokenizer.ts';

/**
 * GPT-2/CLIP byte-level alphabet: each byte gets a printable character (printable Latin-1 bytes map to
 * themselves, the rest to code points from 256 up), so BPE works on any UTF-8 text.
 */
export function byteAlphabet(): string[] {
  const chars = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCodePoint(printable ? b : next++);
  }
  return chars;
}

/**
 * A small CLIP-style tokenizer.json for the `tiny` model (the real 49408-token vocab ships only with
 * checkpoints): every byte with and without the `</w>` end marker, whole-word merges for `words`, and
 * the start/end tokens last, as in CLIP.
 */
export function tinyClipTokenizerJson(words: readonly string[] = TINY_WORDS): object {
  const vocab: Record<string, number> = {};
  const add = (t: string) => {
    if (vocab[t] === undefined) vocab[t] = Object.keys(vocab).length;
  };
  const alphabet = byteAlphabet();
  for (const c of alphabet) add(c);
  for (const c of alphabet) add(`${c}</w>`);
  const merges: string[] = [];
  for (const word of words) {
    const pieces = [...word];
    pieces[pieces.length - 1] += '</w>';
    let left = pieces[0];
    for (const right of pieces.slice(1)) {
      const merge = `${left} ${right}`;
      if (!merges.includes(merge)) merges.push(merge);
      left += right;
      add(left!);
    }
  }
  add('<|startoftext|>');
  add('<|endoftext|>');
  return clipTokenizerJson(vocab, merges);
}

const TINY_WORDS = ['a', 'photo', 'of', 'the', 'face', 'person', 'portrait', 'woman', 'man', 'smiling'];
