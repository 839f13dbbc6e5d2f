import { z } from 'zod';

/**
 * Param building blocks with editor hints. `ui` (and `step`) land in the catalog's JSON Schema through
 * zod's `.meta()`, and the editor picks its widget from them.
 */
export const seedParam = () =>
  z.number().int().min(0).max(2 ** 32 - 1).default(42).meta({ ui: 'seed', description: 'Random seed; the same seed gives the same result' });

export const colourParam = (fallback: string, description: string) =>
  z.string().regex(/^#[0-9a-fA-F]{6}$/, 'use a colour like #ffffff').default(fallback).meta({ ui: 'colour', description });

export const promptParam = (fallback: string, description: string) =>
  z.string().max(10_000).default(fallback).meta({ ui: 'textarea', description });

/** A file or folder inside data/input, picked from the server's listing. */
export const inputPathParam = (fallback: string, description: string) =>
  z.string().min(1).max(500).default(fallback).meta({ ui: 'input-path', description });

/** A file of the model store, e.g. kind 'loras' or 'checkpoints'. */
export const modelParam = (kind: string, fallback: string, description: string) =>
  z.string().max(500).default(fallback).meta({ ui: 'model', kind, description });

export const numberListParam = (fallback: number[], description: string) =>
  z.array(z.number()).max(64).default(fallback).meta({ ui: 'number-list', description });

/** Output file name prefix: plain characters only, so it can never form a path. */
export const filePrefixParam = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default(fallback)
    .meta({ description: 'Start of the output file names' });
