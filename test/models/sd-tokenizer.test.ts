import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clipTokenizerFromJson, loadClipTokenizer } from '../../models/sd/clip-tokenizer.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { parsePromptWeights } from '../../models/sd/prompt-weights.ts';
import { applyTokenWeights, padChunks, promptChunks } from '../../models/sd/prompt-chunks.ts';
import { tempDir } from '../helpers/temp.ts';

const json = tinyClipTokenizerJson() as { model: { vocab: Record<string, number>; merges: string[] } };
const vocab = json.model.vocab;
const tok = clipTokenizerFromJson(json);

describe('CLIP tokenizer', () => {
  it('lower-cases, splits words, digits and punctuation, marks word ends and merges known words', () => {
    expect(tok.encode('A  Photo, 42')).toEqual([vocab['a</w>'], vocab['photo</w>'], vocab[',</w>'], vocab['4</w>'], vocab['2</w>']]);
    // Partial merges apply inside longer words: f+a, fa+c, but not the word-final fac+e</w>.
    expect(tok.encode('faces')).toEqual([vocab.fac, vocab.e, vocab['s</w>']]);
    expect(tok.bos).toBe(vocab['<|startoftext|>']);
    expect(tok.eos).toBe(vocab['<|endoftext|>']);
    expect(tok.pad).toBe(tok.eos);
  });

  it('builds the same tokenizer from a diffusers vocab.json + merges.txt folder', () => {
    const dir = tempDir('clip-tok');
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${json.model.merges.join('\n')}\n`);
    const fromFiles = loadClipTokenizer(dir);
    const text = 'a portrait of a smiling woman, (best quality:1.2) 2024';
    expect(fromFiles.encode(text)).toEqual(tok.encode(text));
    expect(() => loadClipTokenizer(join(dir, 'missing'))).toThrow(/vocab.json and merges.txt/);
  });
});

describe('prompt weighting', () => {
  it('parses A1111/ComfyUI attention syntax', () => {
    expect(parsePromptWeights('a (cat:1.3) on ((grass)) [sky]')).toEqual([
      { text: 'a ', weight: 1 }, { text: 'cat', weight: 1.3 }, { text: ' on ', weight: 1 },
      { text: 'grass', weight: 1.1 * 1.1 }, { text: ' ', weight: 1 }, { text: 'sky', weight: 1 / 1.1 },
    ]);
    expect(parsePromptWeights('(a (b:2) c)')).toEqual([
      { text: 'a ', weight: 1.1 }, { text: 'b', weight: 2.2 }, { text: ' c', weight: 1.1 },
    ]);
    expect(parsePromptWeights('\\(literal\\) x) ratio 16:9')).toEqual([{ text: '(literal) x) ratio 16:9', weight: 1 }]);
    expect(parsePromptWeights('open (rest')).toEqual([{ text: 'open ', weight: 1 }, { text: 'rest', weight: 1.1 }]);
    expect(parsePromptWeights('Bob BREAK (Boris:0.5)')).toEqual([
      { text: 'Bob ', weight: 1 }, { break: true }, { text: ' ', weight: 1 }, { text: 'Boris', weight: 0.5 },
    ]);
  });

  it('frames chunks with start/end/padding and per-token weights', () => {
    const [c] = promptChunks(tok, 'a (photo:1.5)');
    expect(c!.ids.length).toBe(77);
    expect(c!.ids.slice(0, 4)).toEqual([tok.bos, vocab['a</w>'], vocab['photo</w>'], tok.eos]);
    expect(c!.ids.slice(4).every((id) => id === tok.pad)).toBe(true);
    expect(c!.weights.slice(0, 4)).toEqual([1, 1, 1.5, 1]);
    expect(promptChunks(tok, '')).toEqual([{ ids: [tok.bos, tok.eos, ...new Array(75).fill(tok.pad)], weights: new Array(77).fill(1) }]);
  });

  it('splits long prompts into 75-token chunks and honours BREAK', () => {
    const long = Array.from({ length: 100 }, () => 'face').join(' ');
    const chunks = promptChunks(tok, long);
    expect(chunks.length).toBe(2);
    expect(chunks[0]!.ids.filter((id) => id === vocab['face</w>']).length).toBe(75);
    expect(chunks[1]!.ids.filter((id) => id === vocab['face</w>']).length).toBe(25);
    expect(chunks.every((c) => c.ids[0] === tok.bos && c.ids.length === 77)).toBe(true);
    expect(promptChunks(tok, 'a BREAK photo').map((c) => c.ids[1])).toEqual([vocab['a</w>'], vocab['photo</w>']]);
    expect(padChunks(tok, chunks.slice(0, 1), 3).length).toBe(3);
  });

  it('scales token embeddings by weight and keeps the chunk mean', () => {
    const width = 3;
    const emb = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const before = mean(emb);
    applyTokenWeights(emb, [1, 2, 1], width);
    expect(mean(emb)).toBeCloseTo(before, 5);
    // The weighted token grew relative to the others: ratio to token 0 doubled.
    expect(emb[3]! / emb[0]!).toBeCloseTo(8, 5);
  });
});
