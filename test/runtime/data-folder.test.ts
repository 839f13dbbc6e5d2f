import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataFolders, PathEscapeError, safeJoin } from '../../runtime/data-folder.ts';
import { tempDir } from '../helpers/temp.ts';

describe('safeJoin', () => {
  const outside = tempDir('outside');
  writeFileSync(path.join(outside, 'secret.txt'), 'no');
  const data = openDataFolders(tempDir('data'));
  mkdirSync(path.join(data.input, 'set'));
  writeFileSync(path.join(data.input, 'set', 'a.png'), '');
  symlinkSync(outside, path.join(data.input, 'linked-folder'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(data.input, 'linked-file'));
  symlinkSync(path.join(outside, 'not-yet.txt'), path.join(data.input, 'broken'));
  symlinkSync(path.join(data.input, 'set'), path.join(data.input, 'inner-link'));

  it('joins plain relative paths, existing or not, and links that stay inside', () => {
    expect(safeJoin(data.input, 'set/a.png')).toBe(path.join(data.input, 'set', 'a.png'));
    expect(safeJoin(data.input, 'new/deeper/b.png')).toBe(path.join(data.input, 'new', 'deeper', 'b.png'));
    expect(safeJoin(data.input, 'inner-link/a.png')).toBe(path.join(data.input, 'inner-link', 'a.png'));
  });

  it.each([
    ['../models/x', /leaves its folder/],
    ['set/../../x', /leaves its folder/],
    ['/etc/passwd', /not a plain relative path/],
    ['set\\a.png', /not a plain relative path/],
    ['a\0b', /not a plain relative path/],
    ['', /non-empty relative path/],
    ['linked-folder/secret.txt', /leaves its folder/],
    ['linked-folder/new.txt', /leaves its folder/],
    ['linked-file', /leaves its folder/],
    ['broken', /broken link/],
    ['broken/deeper', /broken link/],
  ])('refuses %j', (relative, message) => {
    expect(() => safeJoin(data.input, relative)).toThrow(PathEscapeError);
    expect(() => safeJoin(data.input, relative)).toThrow(message);
  });
});
