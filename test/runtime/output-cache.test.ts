import { describe, expect, it } from 'vitest';
import { DEFAULT_CACHE_BYTES, OutputCache } from '../../runtime/output-cache.ts';
import { approximateBytes } from '../../runtime/values.ts';

/** Outputs holding `n` bytes of pixels; the cache counts them with approximateBytes. */
const outputs = (n: number) => ({ image: new Uint8Array(n) });
const SIZE = approximateBytes(outputs(100));

describe('output cache', () => {
  it('keeps the default budget of 2 GiB', () => {
    expect(new OutputCache().maxBytes).toBe(DEFAULT_CACHE_BYTES);
    expect(DEFAULT_CACHE_BYTES).toBe(2 * 1024 ** 3);
  });

  it('evicts the least recently used entries once over the byte budget', () => {
    const cache = new OutputCache(3 * SIZE);
    for (const key of ['a', 'b', 'c']) cache.set(key, outputs(100));
    expect(cache.bytes).toBe(3 * SIZE);
    cache.set('d', outputs(100));
    expect(cache.get('a')).toBeUndefined();
    expect([cache.size, cache.bytes]).toEqual([3, 3 * SIZE]);
    for (const key of ['b', 'c', 'd']) expect(cache.get(key), key).toBeDefined();
  });

  it('a hit makes an entry the most recently used', () => {
    const cache = new OutputCache(3 * SIZE);
    const a = outputs(100);
    cache.set('a', a);
    cache.set('b', outputs(100));
    cache.set('c', outputs(100));
    expect(cache.get('a')).toBe(a);
    cache.set('d', outputs(100));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(a);
  });

  it('one big entry evicts as many old ones as its bytes need', () => {
    const cache = new OutputCache(3 * SIZE);
    for (const key of ['a', 'b', 'c']) cache.set(key, outputs(100));
    cache.set('big', outputs(2 * SIZE - 16));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.bytes).toBe(3 * SIZE);
  });

  it('does not keep an entry larger than the whole budget, and keeps the rest', () => {
    const cache = new OutputCache(3 * SIZE);
    cache.set('a', outputs(100));
    cache.set('huge', outputs(3 * SIZE));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.bytes).toBe(SIZE);
  });

  it('replacing a key counts only its new bytes', () => {
    const cache = new OutputCache(3 * SIZE);
    cache.set('a', outputs(100));
    cache.set('a', outputs(200));
    expect([cache.size, cache.bytes]).toEqual([1, approximateBytes(outputs(200))]);
  });

  it('a budget of 0 keeps nothing; a negative or NaN budget is refused', () => {
    const cache = new OutputCache(0);
    cache.set('a', outputs(1));
    expect(cache.size).toBe(0);
    expect(() => new OutputCache(-1)).toThrow(/byte count of 0 or more \(got -1\)/);
    expect(() => new OutputCache(Number.NaN)).toThrow(/got NaN/);
  });
});
