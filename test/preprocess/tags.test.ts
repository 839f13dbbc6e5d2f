import { describe, expect, it } from 'vitest';
import { pickDominantFace } from '../../models/preprocess/face-rule.ts';
import { caption, filterIdentityTags, identityTagReason } from '../../models/preprocess/tag-filter.ts';
import { ageBand, majorityAttributes, triggerWord } from '../../models/preprocess/trigger-words.ts';

describe('trigger words (paper, Table 1)', () => {
  // One test per row of Table 1 (phrases as FaceChain's code writes them, children rows with "children").
  const ROWS = [
    { band: 'child', gender: 'male', ages: [0, 5, 19.9], phrase: 'a boy, children' },
    { band: 'child', gender: 'female', ages: [0, 5, 19.9], phrase: 'a girl, children' },
    { band: 'adult', gender: 'male', ages: [20, 33, 40], phrase: 'a handsome man' },
    { band: 'adult', gender: 'female', ages: [20, 33, 40], phrase: 'a beautiful woman' },
    { band: 'mature', gender: 'male', ages: [40.5, 71], phrase: 'a mature man' },
    { band: 'mature', gender: 'female', ages: [40.5, 71], phrase: 'a mature woman' },
  ] as const;
  for (const row of ROWS) {
    it(`${row.gender}, ${row.band} (${row.ages.join(', ')} years): "${row.phrase}"`, () => {
      for (const age of row.ages) {
        expect(ageBand(age)).toBe(row.band);
        expect(triggerWord(row.gender, age)).toBe(row.phrase);
      }
      const set = majorityAttributes(row.ages.map((age) => ({ gender: row.gender, genderScore: 0.9, age })));
      expect(set.trigger).toBe(row.phrase);
      // The caption line FaceChain's trainer reads: token, the row's tags, then the kept tags.
      expect(caption('<sks>', set.trigger, ['smile', '1boy'])).toBe(`<sks>, ${row.phrase}, smile`);
    });
  }

  it('takes the majority over the set, breaking ties sensibly', () => {
    const f = (age: number, genderScore = 0.9) => ({ gender: 'female' as const, genderScore, age });
    const m = (age: number, genderScore = 0.9) => ({ gender: 'male' as const, genderScore, age });
    const r = majorityAttributes([f(28), f(31), m(45), f(44), f(26)]);
    expect(r.trigger).toBe('a beautiful woman');
    expect(r.votes).toEqual({ gender: 4, band: 3, total: 5 });
    expect(r.age).toBe(31);
    // Gender tie: the more confident side wins. Band tie (adult 2, mature 2): the median age's band.
    const t = majorityAttributes([m(25, 0.95), f(38, 0.6), m(50, 0.9), f(60, 0.55)]);
    expect(t.gender).toBe('male');
    expect(t.age).toBe(44);
    expect(t.trigger).toBe('a mature man');
    expect(() => majorityAttributes([])).toThrow(/no faces/);
  });
});

describe('identity tag filter (FaceChain post_process_naive)', () => {
  it('drops identity-bound and gender tags, keeps the rest in order', () => {
    const tags = ['1girl', 'solo', 'long_hair', 'brown eyes', 'blue_eyes', 'eyewear', 'lips', 'red_lips', 'nose', 'smile', 'face', 'teeth',
      'upper_body', 'old_woman', 'mature_female', 'looking_at_viewer', 'eyelashes', 'earrings', 'solo', ' ', 'asian', 'closed mouth'];
    expect(filterIdentityTags(tags)).toEqual(['solo', 'long_hair', 'eyewear', 'smile', 'looking_at_viewer', 'earrings', 'closed mouth']);
    expect(identityTagReason('Brown Eyes')).toBe('eyes');
    expect(identityTagReason('mature female')).toBe('ends with _female');
    expect(identityTagReason('upper body')).toBe('body');
    expect(identityTagReason('hair_ornament')).toBeUndefined();
  });

  it('builds the caption line: token, subject, kept tags', () => {
    expect(caption('<sks>', 'a beautiful woman', ['1girl', 'smile', 'blue_eyes', 'necklace'])).toBe('<sks>, a beautiful woman, smile, necklace');
    expect(caption('<sks>', 'a boy', [])).toBe('<sks>, a boy');
  });
});

describe('one-subject rule (FaceChain: largest face at least 4x the next)', () => {
  const box = (w: number, h = w) => ({ x: 0, y: 0, width: w, height: h });
  it('keeps a lone face or a dominant one, drops none or look-alikes', () => {
    expect(pickDominantFace([box(50)])).toEqual({ index: 0 });
    expect(pickDominantFace([box(40), box(100), box(20)])).toEqual({ index: 1 });
    expect(pickDominantFace([box(100), box(50)])).toEqual({ index: 0 }); // exactly 4x
    expect(pickDominantFace([])).toEqual({ reason: 'no face found' });
    const r = pickDominantFace([box(100), box(51), box(10)]);
    expect('reason' in r && r.reason).toMatch(/3 faces of similar size \(largest 3\.8x the next, needs 4x\)/);
    expect(pickDominantFace([box(100), box(60)], 2)).toEqual({ index: 0 });
  });
});
