import type { PartSession } from './part-session.ts';
import type { SdModel } from './sd-model.ts';
import { applyTokenWeights, padChunks, promptChunks, type TokenChunk } from './prompt-chunks.ts';
import { loraFeeds, type LoraBranches } from './lora-feeds.ts';

/** Text-encoder output for one prompt: [chunks * 77, width] row-major. */
export interface PromptEmbedding {
  data: Float32Array;
  tokens: number;
  width: number;
}

export interface EncodeOptions {
  /** 1 = last layer, 2 = penultimate (A1111/ComfyUI "clip skip"). */
  clipSkip?: 1 | 2;
  /** Text-encoder LoRA branches. */
  lora?: LoraBranches;
  /** Plain text, no attention syntax (training captions). */
  literal?: boolean;
  /** A text-encoder session the caller holds (training encodes every step); none: a lease of its own, ended after. */
  session?: PartSession;
}

/**
 * Encodes prompts that must line up token for token (a CFG pair): each is cut into 77-token chunks,
 * the shorter padded with empty chunks, every chunk encoded in one batch, weights applied per chunk.
 */
export async function encodePrompts(model: SdModel, prompts: readonly string[], o: EncodeOptions = {}): Promise<PromptEmbedding[]> {
  const { tokenizer, config } = model;
  const ctxTokens = config.text.contextTokens;
  const chunked = prompts.map((p) => promptChunks(tokenizer, p, ctxTokens, o.literal));
  const count = Math.max(...chunked.map((c) => c.length));
  const all: TokenChunk[] = chunked.flatMap((c) => padChunks(tokenizer, c, count, ctxTokens));
  const ids = BigInt64Array.from(all.flatMap((c) => c.ids.map(BigInt)));
  // Else a lease of its own, ended here: the text encoder runs once per image and need not stay in memory.
  const session = o.session ?? (await model.lease('text'));
  let out;
  try {
    out = await session.run({
      input_ids: { dtype: 'int64', dims: [all.length, ctxTokens], data: ids },
      ...loraFeeds(model.loraTargets.text, o.lora),
    });
  } finally {
    if (!o.session) await session.release();
  }
  const skip2 = (o.clipSkip ?? 1) === 2;
  if (skip2 && !out.hidden_skip2) throw new Error('clip skip 2 needs a text encoder with at least 2 layers');
  const hidden = (skip2 ? out.hidden_skip2 : out.hidden)!.data as Float32Array;
  const width = config.text.width;
  const chunkSize = ctxTokens * width;
  all.forEach((chunk, i) => applyTokenWeights(hidden.subarray(i * chunkSize, (i + 1) * chunkSize), chunk.weights, width));
  return prompts.map((_, p) => ({
    data: hidden.slice(p * count * chunkSize, (p + 1) * count * chunkSize),
    tokens: count * ctxTokens,
    width,
  }));
}
