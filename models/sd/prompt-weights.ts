/** A run of prompt text with one attention weight, or a forced chunk break (A1111's BREAK). */
export type PromptPart = { text: string; weight: number } | { break: true };

const ROUND = 1.1;
const SQUARE = 1 / 1.1;
// Escapes, brackets, an explicit weight closing a round bracket, BREAK as its own word, plain text.
const TOKEN = /\\[\\()[\]]|\(|\[|:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*\)|\)|\]|\bBREAK\b|[^\\()[\]:B]+|[\s\S]/g;

/**
 * Parses attention syntax the way A1111 and ComfyUI users write it: `(word)` x1.1, `((word))` x1.21,
 * `[word]` /1.1, `(word:1.3)` x1.3 (nested brackets multiply), `\(` for a literal bracket, `BREAK` to
 * start a new 75-token chunk. Unclosed brackets apply to the rest of the prompt; stray closers are text.
 */
export function parsePromptWeights(prompt: string): PromptPart[] {
  const parts: ({ text: string; weight: number } | { break: true })[] = [];
  const open: { start: number; kind: '(' | '[' }[] = [];
  const scale = (start: number, factor: number) => {
    for (let k = start; k < parts.length; k++) {
      const p = parts[k]!;
      if ('text' in p) p.weight *= factor;
    }
  };
  const text = (t: string) => parts.push({ text: t, weight: 1 });
  for (const m of prompt.matchAll(TOKEN)) {
    const token = m[0];
    if (token.startsWith('\\')) text(token.slice(1));
    else if (token === '(' || token === '[') open.push({ start: parts.length, kind: token });
    else if (token === 'BREAK') parts.push({ break: true });
    else if (m[1] !== undefined && open.at(-1)?.kind === '(') scale(open.pop()!.start, Number(m[1]));
    else if (token === ')' && open.at(-1)?.kind === '(') scale(open.pop()!.start, ROUND);
    else if (token === ']' && open.at(-1)?.kind === '[') scale(open.pop()!.start, SQUARE);
    else text(token);
  }
  for (const o of open.reverse()) scale(o.start, o.kind === '(' ? ROUND : SQUARE);
  return mergeRuns(parts);
}

/** Joins neighbouring runs of equal weight and drops empty ones. */
function mergeRuns(parts: PromptPart[]): PromptPart[] {
  const out: PromptPart[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    if ('text' in p && p.text === '') continue;
    if ('text' in p && last && 'text' in last && last.weight === p.weight) last.text += p.text;
    else out.push('text' in p ? { ...p } : p);
  }
  return out;
}
