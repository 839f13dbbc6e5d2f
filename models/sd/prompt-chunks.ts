import type { ClipTokenizer } from './clip-tokenizer.ts';
import { parsePromptWeights } from './prompt-weights.ts';

/** One text-encoder pass: start token, up to 75 prompt tokens, end token, padding; one weight per token. */
export interface TokenChunk {
  ids: number[];
  weights: number[];
}

export const CONTEXT_TOKENS = 77;

/**
 * Tokenizes a weighted prompt into 77-token chunks (75 prompt tokens + start/end), as A1111 does for
 * prompts longer than CLIP's window: each chunk is encoded on its own and the embeddings concatenated.
 * BREAK ends a chunk early. An empty prompt is one chunk of start, end and padding. `literal` text (a
 * training caption, as diffusers' and kohya's trainers read it) is tokenized as written: brackets are
 * words, not weights.
 */
export function promptChunks(tokenizer: ClipTokenizer, prompt: string, contextTokens = CONTEXT_TOKENS, literal = false): TokenChunk[] {
  const room = contextTokens - 2;
  const chunks: TokenChunk[] = [];
  let ids: number[] = [];
  let weights: number[] = [];
  const close = () => {
    chunks.push(frame(tokenizer, ids, weights, contextTokens));
    ids = [];
    weights = [];
  };
  for (const part of literal ? [{ text: prompt, weight: 1 }] : parsePromptWeights(prompt)) {
    if (!('text' in part)) {
      if (ids.length) close();
      continue;
    }
    for (const id of tokenizer.encode(part.text)) {
      if (ids.length === room) close();
      ids.push(id);
      weights.push(part.weight);
    }
  }
  if (ids.length || chunks.length === 0) close();
  return chunks;
}

/** Adds empty chunks so a prompt matches another's chunk count (CFG batches cond and uncond). */
export function padChunks(tokenizer: ClipTokenizer, chunks: TokenChunk[], count: number, contextTokens = CONTEXT_TOKENS): TokenChunk[] {
  const out = [...chunks];
  while (out.length < count) out.push(frame(tokenizer, [], [], contextTokens));
  return out;
}

function frame(tokenizer: ClipTokenizer, ids: number[], weights: number[], contextTokens: number): TokenChunk {
  const pad = contextTokens - 2 - ids.length;
  return {
    ids: [tokenizer.bos, ...ids, tokenizer.eos, ...new Array<number>(pad).fill(tokenizer.pad)],
    weights: [1, ...weights, 1, ...new Array<number>(pad).fill(1)],
  };
}

/**
 * A1111's emphasis: scale each token's embedding by its weight, then rescale the whole chunk so its
 * mean is unchanged (weights shift attention between tokens without changing the overall magnitude).
 * `embedding` is [tokens, width] row-major; changed in place.
 */
export function applyTokenWeights(embedding: Float32Array, weights: readonly number[], width: number): Float32Array {
  if (weights.every((w) => w === 1)) return embedding;
  let before = 0;
  let after = 0;
  for (let t = 0; t < weights.length; t++) {
    for (let c = 0; c < width; c++) {
      const k = t * width + c;
      before += embedding[k]!;
      embedding[k]! *= weights[t]!;
      after += embedding[k]!;
    }
  }
  const fix = after === 0 ? 1 : before / after;
  for (let k = 0; k < weights.length * width; k++) embedding[k]! *= fix;
  return embedding;
}
