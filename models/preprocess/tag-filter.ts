// FaceChain's caption post-processing (`post_process_naive`): tags that describe the identity
// (eyes, lips, nose, face, ...) or the subject's gender are dropped, so the LoRA binds them to the
// trigger word instead of the caption; the Table 1 phrase replaces the gender tags.

const EXACT = new Set(['1girl', '1boy', 'ears', 'head', 'face', 'lips', 'mouth', '3d', 'asian', 'teeth']);
const SUFFIXES = ['_man', '_woman', '_male', '_female', '_lips'];

/** Why FaceChain would drop a tag, or undefined to keep it. Spaces and underscores count alike. */
export function identityTagReason(tag: string): string | undefined {
  const t = tag.trim().toLowerCase().replace(/ /g, '_');
  if (EXACT.has(t)) return 'identity or gender';
  const suffix = SUFFIXES.find((s) => t.endsWith(s));
  if (suffix) return `ends with ${suffix}`;
  if (t.includes('eye') && !t.includes('eyewear')) return 'eyes';
  if (t.includes('nose')) return 'nose';
  if (t.includes('body')) return 'body';
  return undefined;
}

/** The tags FaceChain keeps, in order, without duplicates or empties. */
export function filterIdentityTags(tags: readonly string[]): string[] {
  const kept: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag && !identityTagReason(tag) && !kept.includes(tag)) kept.push(tag);
  }
  return kept;
}

/** A caption line: the trigger token, the subject phrase, then the kept tags. */
export function caption(token: string, subject: string, tags: readonly string[]): string {
  return [token, subject, ...filterIdentityTags(tags)].filter(Boolean).join(', ');
}
