import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** CLIP's BPE tokenizer as the text encoder needs it: plain ids plus its special tokens. */
export interface ClipTokenizer {
  /** Token ids of `text` without start/end tokens. */
  encode(text: string): number[];
  readonly bos: number;
  readonly eos: number;
  /** SD1.x pads with the end token (tokenizer_config pad_token <|endoftext|>). */
  readonly pad: number;
  readonly vocabSize: number;
}

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/**
 * The tokenizer.json equivalent of CLIP's slow tokenizer (vocab.json + merges.txt): NFC, collapsed
 * whitespace and lower case; words split by CLIP's regex; byte-level alphabet; BPE with a `</w>` end
 * of word marker.
 */
export function clipTokenizerJson(vocab: Record<string, number>, merges: string[]): object {
  for (const special of [BOS, EOS]) if (vocab[special] === undefined) throw new Error(`vocab lacks ${special}`);
  const special = (content: string) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(BOS), special(EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: EOS, continuing_subword_prefix: '', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}

/** merges.txt lines: an optional '#version' header, then one 'left right' pair per line. */
export function parseMerges(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#version'));
}

export function clipTokenizerFromJson(json: object): ClipTokenizer {
  const tokenizer = new Tokenizer(json, { model_max_length: 77 });
  const id = (t: string) => {
    const v = tokenizer.token_to_id(t);
    if (v === undefined) throw new Error(`tokenizer has no ${t}`);
    return v;
  };
  const eos = id(EOS);
  const model = (json as { model?: { vocab?: object } }).model;
  return {
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    bos: id(BOS),
    eos,
    pad: eos,
    vocabSize: Object.keys(model?.vocab ?? {}).length,
  };
}

/**
 * Loads the tokenizer from a diffusers `tokenizer/` folder: tokenizer.json when present, else
 * vocab.json + merges.txt (what SD1.5 repositories ship).
 */
export function loadClipTokenizer(dir: string): ClipTokenizer {
  const json = join(dir, 'tokenizer.json');
  if (existsSync(json)) return clipTokenizerFromJson(JSON.parse(readFileSync(json, 'utf8')));
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new Error(`no CLIP tokenizer in ${dir}: expected tokenizer.json, or vocab.json and merges.txt`);
  }
  const vocab = JSON.parse(readFileSync(vocabPath, 'utf8')) as Record<string, number>;
  return clipTokenizerFromJson(clipTokenizerJson(vocab, parseMerges(readFileSync(mergesPath, 'utf8'))));
}
