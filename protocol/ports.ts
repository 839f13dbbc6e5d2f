import { z } from 'zod';

/** Port types a user sees on node handles; the colour is the handle colour in the editor. */
export const PORT_TYPES = {
  IMAGE: { colour: '#4fc3f7', description: 'One image (RGB or RGBA pixels).' },
  IMAGES: { colour: '#0288d1', description: 'A list of images.' },
  MASK: { colour: '#b0bec5', description: 'A one-channel mask, 0 = outside, 255 = inside.' },
  FACES: { colour: '#ffb74d', description: 'Detected faces: boxes, confidences, 5 landmarks per image.' },
  DATASET: { colour: '#a1887f', description: 'A captioned training set (images + metadata.jsonl).' },
  TAGS: { colour: '#dce775', description: 'Caption tags per image and the trigger word.' },
  LORA: { colour: '#ba68c8', description: 'One LoRA (low-rank weights for UNet / text encoder).' },
  LORA_STACK: { colour: '#8e24aa', description: 'Weighted LoRAs the sampler mixes into the model.' },
  SD_MODEL: { colour: '#e57373', description: 'A Stable Diffusion model (text encoder, UNet, VAE).' },
  LATENT: { colour: '#f06292', description: 'Latent images.' },
  SCORES: { colour: '#81c784', description: 'Numbers that rank images.' },
  NUMBER: { colour: '#90a4ae', description: 'A number.' },
  STRING: { colour: '#cfd8dc', description: 'A piece of text.' },
} as const;

export type PortType = keyof typeof PORT_TYPES;
export const PORT_TYPE_NAMES = Object.keys(PORT_TYPES) as [PortType, ...PortType[]];
export const PortTypeSchema = z.enum(PORT_TYPE_NAMES);

/**
 * Widening rules: a value of the key type may feed an input of each listed type.
 * The executor converts the value with `adaptValue` on the way.
 */
export const WIDENINGS: Partial<Record<PortType, readonly PortType[]>> = {
  IMAGE: ['IMAGES'],
  MASK: ['IMAGE', 'IMAGES'],
  NUMBER: ['STRING'],
};

export type Compatibility = { ok: true; widened: boolean } | { ok: false; reason: string };

/** Which input types a value of each type may feed: itself, then its widenings. */
export type FeedsTable = Partial<Record<PortType, readonly PortType[]>>;
export const FEEDS = {} as Record<PortType, readonly PortType[]>;
for (const t of PORT_TYPE_NAMES) FEEDS[t] = [t, ...(WIDENINGS[t] ?? [])];

/**
 * Whether a `from` value may feed a `to` input, with the reason when not. `feeds` is this build's table
 * by default; the editor passes the one in the server's catalog.
 */
export function compatibility(from: PortType, to: PortType, feeds: FeedsTable = FEEDS): Compatibility {
  const of = (t: PortType) => feeds[t] ?? [t];
  if (of(from).includes(to)) return { ok: true, widened: from !== to };
  const wideners = (Object.keys(feeds) as PortType[]).filter((t) => t !== to && of(t).includes(to));
  return { ok: false, reason: `${from} cannot feed a ${to} input (it accepts ${[to, ...wideners].join(' or ')})` };
}

/** Converts a value of type `from` for an input of type `to` (see WIDENINGS). */
export function adaptValue(from: PortType, to: PortType, value: unknown): unknown {
  if (from === to) return value;
  if (to === 'IMAGES') return [value];
  if (to === 'STRING') return String(value);
  return value;
}
