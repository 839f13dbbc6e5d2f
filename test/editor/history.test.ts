import { describe, expect, it } from 'vitest';
import { History } from '../../editor/src/core/history.ts';

describe('undo/redo history', () => {
  it('undoes and redoes at least 100 steps exactly', () => {
    const h = new History({ items: [] as number[], name: 'a' });
    const states = [h.state];
    for (let i = 0; i < 150; i++) {
      h.edit(`step ${i}`, (d) => {
        if (i % 3 === 2) d.items.splice(0, 1);
        else d.items.push(i);
        d.name = `n${i}`;
      });
      states.push(h.state);
    }
    expect(h.depth).toBe(150);
    for (let i = 149; i >= 0; i--) {
      expect(h.undo()).toBe(`step ${i}`);
      expect(h.state).toEqual(states[i]);
    }
    expect(h.canUndo).toBe(false);
    for (let i = 1; i <= 150; i++) {
      h.redo();
      expect(h.state).toEqual(states[i]);
    }
    expect(h.canRedo).toBe(false);
  });

  it('drops the oldest steps past its limit', () => {
    const h = new History({ n: 0 }, 120);
    for (let i = 1; i <= 130; i++) h.edit('inc', (d) => void (d.n = i));
    while (h.undo());
    expect(h.state.n).toBe(10);
  });

  it('coalesces edits with one key until sealed, and records no-ops as nothing', () => {
    const h = new History({ text: '', x: 0 });
    for (const t of ['h', 'he', 'hel', 'hello']) h.edit('type', (d) => void (d.text = t), { coalesce: 'text' });
    h.seal();
    h.edit('type', (d) => void (d.text = 'hello!'), { coalesce: 'text' });
    expect(h.edit('nothing', () => {})).toBe(false);
    expect(h.depth).toBe(2);
    h.undo();
    expect(h.state.text).toBe('hello');
    h.undo();
    expect(h.state.text).toBe('');
  });

  it('a new edit clears redo; reset forgets everything', () => {
    const h = new History({ n: 0 });
    h.edit('a', (d) => void (d.n = 1));
    h.undo();
    h.edit('b', (d) => void (d.n = 2));
    expect(h.canRedo).toBe(false);
    h.reset({ n: 9 });
    expect([h.canUndo, h.state.n]).toEqual([false, 9]);
  });

  it('keeps untouched parts identical (cheap re-render) and states frozen', () => {
    const h = new History({ a: { v: 1 }, b: { v: 2 } });
    const b = h.state.b;
    h.edit('a', (d) => void (d.a.v = 5));
    expect(h.state.b).toBe(b);
    expect(Object.isFrozen(h.state.a)).toBe(true);
  });
});
