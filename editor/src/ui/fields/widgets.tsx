import { useState } from 'react';
import { formatNumberList, parseNumber, parseNumberList, randomSeed, snapToStep, type Field } from '../../core/form-model.ts';
import { seedControlOf, SeedControlSchema, type SeedControl } from '../../core/seed-control.ts';
import { useEditor } from '../context.ts';
import { DiceIcon } from '../icons.tsx';
import { useStore } from '../use-store.ts';
import type { WidgetProps } from './ParamField.tsx';

type Of<K extends Field['kind']> = WidgetProps<Extract<Field, { kind: K }>>;

/**
 * Text boxes keep what the user types (a half-typed "-" or "1.") while only valid values reach the
 * document; the box shows the document value again on blur.
 */
function useDraft(): [string | undefined, (s: string | undefined) => void] {
  return useState<string>();
}

/** A number box's value and handlers: the typed draft while editing, valid numbers sent as they come. */
function useNumberBox(num: number | undefined, set: (v: unknown) => void, commit: () => void) {
  const [draft, setDraft] = useDraft();
  return {
    clearDraft: () => setDraft(undefined),
    box: {
      value: draft ?? (num === undefined ? '' : String(num)),
      onChange: (e: React.ChangeEvent<HTMLInputElement>) => {
        setDraft(e.target.value);
        const p = parseNumber(e.target.value);
        if (p.ok) set(p.value);
      },
      onBlur: () => {
        setDraft(undefined);
        commit();
      },
    },
  };
}

export function NumberWidget({ field, value, set, commit }: Of<'number'>) {
  const num = typeof value === 'number' ? value : undefined;
  const { box } = useNumberBox(num, set, commit);
  return (
    <div className="fc-number">
      <input
        className="fc-input"
        type="number"
        inputMode="decimal"
        min={field.min}
        max={field.max}
        step={field.step}
        placeholder={field.default === undefined ? 'unset' : String(field.default)}
        {...box}
      />
      {field.slider && (
        <input
          className="fc-slider"
          type="range"
          min={field.min}
          max={field.max}
          step={field.step}
          value={num ?? field.min}
          onChange={(e) => set(snapToStep(Number(e.target.value), field.step, field.min))}
          onPointerUp={commit}
          onKeyUp={commit}
          style={{ '--fill': `${(((num ?? field.min!) - field.min!) / (field.max! - field.min!)) * 100}%` } as React.CSSProperties}
        />
      )}
    </div>
  );
}

const CONTROL_LABELS: Record<SeedControl, string> = { fixed: 'fixed', increment: '+1', randomize: 'random' };

export function SeedWidget({ field, value, set, commit, nodeId }: Of<'seed'>) {
  const { box, clearDraft } = useNumberBox(typeof value === 'number' ? value : undefined, set, commit);
  const { store } = useEditor();
  const control = useStore(store, (s) => seedControlOf(s.doc, nodeId, field.key));
  return (
    <div className="fc-seed">
      <input
        className="fc-input"
        type="number"
        min={0}
        max={field.max}
        step={1}
        {...box}
      />
      <button
        className="fc-icon-btn"
        title="Random seed"
        aria-label="Random seed"
        onClick={() => {
          clearDraft();
          set(randomSeed(field.max));
          commit();
        }}
      >
        <DiceIcon />
      </button>
      <select
        className="fc-input fc-seed-control"
        title="After each run: keep the seed, add one, or pick a random one"
        aria-label="Seed after run"
        value={control}
        onChange={(e) => store.setSeedControl(nodeId, field.key, e.target.value as SeedControl)}
      >
        {SeedControlSchema.options.map((c) => (
          <option key={c} value={c}>
            {CONTROL_LABELS[c]}
          </option>
        ))}
      </select>
    </div>
  );
}

export function SelectWidget({ field, value, set, commit }: Of<'select'>) {
  const index = field.options.findIndex((o) => o === value);
  return (
    <select
      className="fc-input"
      value={index < 0 ? '' : String(index)}
      onChange={(e) => {
        set(field.options[Number(e.target.value)]);
        commit();
      }}
    >
      {index < 0 && <option value="">{value === undefined ? '(unset)' : `${String(value)} (not allowed)`}</option>}
      {field.options.map((o, i) => (
        <option key={String(o)} value={String(i)}>
          {String(o)}
        </option>
      ))}
    </select>
  );
}

export function CheckboxWidget({ value, set, commit }: WidgetProps) {
  return (
    <label className="fc-toggle">
      <input
        type="checkbox"
        checked={value === true}
        onChange={(e) => {
          set(e.target.checked);
          commit();
        }}
      />
      <span className="fc-toggle-track" />
      <span className="fc-toggle-text">{value === true ? 'on' : 'off'}</span>
    </label>
  );
}

export function TextWidget({ field, value, set, commit }: Of<'text'>) {
  const text = typeof value === 'string' ? value : '';
  const common = {
    className: 'fc-input',
    value: text,
    maxLength: field.maxLength,
    placeholder: field.default === undefined ? 'unset' : String(field.default),
    onBlur: commit,
  };
  if (field.multiline) {
    return <textarea {...common} rows={Math.min(8, Math.max(3, text.split('\n').length))} onChange={(e) => set(e.target.value)} />;
  }
  return <input {...common} type="text" onChange={(e) => set(e.target.value === '' && !field.required && field.default === undefined ? undefined : e.target.value)} />;
}

export function ColourWidget({ value, set, commit }: WidgetProps) {
  const [draft, setDraft] = useDraft();
  const colour = typeof value === 'string' ? value : '#000000';
  return (
    <div className="fc-colour">
      <input type="color" value={/^#[0-9a-fA-F]{6}$/.test(colour) ? colour : '#000000'} onChange={(e) => set(e.target.value)} onBlur={commit} />
      <input
        className="fc-input"
        type="text"
        value={draft ?? colour}
        spellCheck={false}
        onChange={(e) => {
          setDraft(e.target.value);
          if (/^#[0-9a-fA-F]{6}$/.test(e.target.value)) set(e.target.value.toLowerCase());
        }}
        onBlur={() => {
          setDraft(undefined);
          commit();
        }}
      />
    </div>
  );
}

/** Lists of numbers (LoRA block weights): typed as "1, 0.5, 0"; the count is shown. */
export function NumberListWidget({ value, set, commit }: Of<'number-list'>) {
  const [draft, setDraft] = useDraft();
  const [error, setError] = useState<string>();
  const count = Array.isArray(value) ? value.length : 0;
  return (
    <div className="fc-number-list">
      <input
        className="fc-input mono"
        type="text"
        value={draft ?? formatNumberList(value)}
        spellCheck={false}
        onChange={(e) => {
          setDraft(e.target.value);
          const p = parseNumberList(e.target.value);
          setError(p.ok ? undefined : p.error);
          if (p.ok) set(p.value);
        }}
        onBlur={() => {
          setDraft(undefined);
          setError(undefined);
          commit();
        }}
      />
      <span className="fc-count" title="Numbers in the list">
        {count}
      </span>
      {error && <div className="fc-field-error">{error}</div>}
    </div>
  );
}

/** Params whose schema has no widget: edited as JSON. */
export function JsonWidget({ value, set, commit }: WidgetProps) {
  const [draft, setDraft] = useDraft();
  const [error, setError] = useState<string>();
  return (
    <>
      <textarea
        className="fc-input mono"
        rows={3}
        value={draft ?? (value === undefined ? '' : JSON.stringify(value))}
        onChange={(e) => {
          setDraft(e.target.value);
          try {
            set(e.target.value.trim() ? JSON.parse(e.target.value) : undefined);
            setError(undefined);
          } catch {
            setError('Not valid JSON yet');
          }
        }}
        onBlur={() => {
          setDraft(undefined);
          setError(undefined);
          commit();
        }}
      />
      {error && <div className="fc-field-error">{error}</div>}
    </>
  );
}
