// The subject phrase of every caption: FaceChain's Table 1 picks it from the gender and age the
// attribute model reads off the photos, by majority over the training set.
import { at } from '../../protocol/index.ts';
import type { FaceAttributes } from '../face/types.ts';

export type Gender = FaceAttributes['gender'];
export type AgeBand = 'child' | 'adult' | 'mature';

/** Paper, Table 1: 0-20, 20-40, over 40. */
export function ageBand(age: number): AgeBand {
  if (age < 20) return 'child';
  return age <= 40 ? 'adult' : 'mature';
}

// FaceChain's code writes the child rows as two caption tags, ['a boy', 'children'], and its prompts as
// 'a boy, children, ' (data_process/preprocessing.py, inference.py): the phrase here is both, joined.
const TABLE: Record<AgeBand, Record<Gender, string>> = {
  child: { male: 'a boy, children', female: 'a girl, children' },
  adult: { male: 'a handsome man', female: 'a beautiful woman' },
  mature: { male: 'a mature man', female: 'a mature woman' },
};

export function triggerWord(gender: Gender, age: number): string {
  return TABLE[ageBand(age)][gender];
}

export interface SetAttributes {
  gender: Gender;
  band: AgeBand;
  /** Median age of the set (years). */
  age: number;
  trigger: string;
  /** How many photos voted for the winning gender and band. */
  votes: { gender: number; band: number; total: number };
}

/**
 * Majority over the photos: gender by vote (a tie goes to the larger summed confidence), age band by
 * vote (a tie goes to the band of the median age).
 */
export function majorityAttributes(items: readonly FaceAttributes[]): SetAttributes {
  if (items.length === 0) throw new Error('no faces to read gender and age from');
  const male = items.filter((a) => a.gender === 'male');
  const female = items.filter((a) => a.gender === 'female');
  const conf = (xs: FaceAttributes[]) => xs.reduce((s, a) => s + a.genderScore, 0);
  const gender: Gender = male.length !== female.length ? (male.length > female.length ? 'male' : 'female') : conf(male) > conf(female) ? 'male' : 'female';

  const ages = items.map((a) => a.age).sort((a, b) => a - b);
  const mid = ages.length >> 1;
  const median = ages.length % 2 ? ages[mid]! : (ages[mid - 1]! + ages[mid]!) / 2; // items is not empty
  const counts = new Map<AgeBand, number>();
  for (const a of items) counts.set(ageBand(a.age), (counts.get(ageBand(a.age)) ?? 0) + 1);
  const top = Math.max(...counts.values());
  const leaders = [...counts].filter(([, n]) => n === top).map(([b]) => b);
  const band = leaders.length === 1 ? at(leaders, 0) : ageBand(median);

  return {
    gender,
    band,
    age: median,
    trigger: TABLE[band][gender],
    votes: { gender: gender === 'male' ? male.length : female.length, band: counts.get(band) ?? 0, total: items.length },
  };
}
