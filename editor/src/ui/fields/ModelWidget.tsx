import { useCallback, useEffect, useState } from 'react';
import type { ModelFile } from '../../../../protocol/index.ts';
import type { Field } from '../../core/form-model.ts';
import { useEditor } from '../context.ts';
import type { WidgetProps } from './ParamField.tsx';

/**
 * A model file of one kind (GET /api/models?kind=), re-listed on focus so new downloads show up, after
 * the built-in names the param allows (the `demo` and `tiny` checkpoints).
 */
export function ModelWidget({ field, value, set, commit }: WidgetProps<Extract<Field, { kind: 'model' }>>) {
  const { api } = useEditor();
  const [files, setFiles] = useState<ModelFile[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    api.models(field.modelKind).then(
      (f) => (setFiles(f), setError(undefined)),
      (e: Error) => setError(e.message),
    );
  }, [api, field.modelKind]);
  useEffect(load, [load]);

  const current = typeof value === 'string' ? value : '';
  const known = field.builtin.includes(current) || files?.some((f) => f.path === current);
  return (
    <>
      <select
        className="fc-input"
        value={current}
        onFocus={load}
        onChange={(e) => {
          set(e.target.value);
          commit();
        }}
      >
        {!field.required && <option value="">(none)</option>}
        {current && !known && (
          <option value={current}>
            {current}
            {files && current !== field.default ? ' (not found)' : ''}
          </option>
        )}
        {field.builtin.map((name) => (
          <option key={name} value={name}>
            {name} (built in)
          </option>
        ))}
        {files?.map((f) => (
          <option key={f.path} value={f.path}>
            {f.path} · {formatSize(f.size)}
          </option>
        ))}
      </select>
      {error && <div className="fc-field-error">{error}</div>}
      {files && !files.length && <div className="fc-field-hint">No files in data/models/{field.modelKind}/ yet</div>}
    </>
  );
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
