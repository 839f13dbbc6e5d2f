import { memo, useCallback } from 'react';
import { checkValue, fieldValue, type Field } from '../../core/form-model.ts';
import { useEditor } from '../context.ts';
import { InputPathWidget } from './InputPathWidget.tsx';
import { ModelWidget } from './ModelWidget.tsx';
import { CheckboxWidget, ColourWidget, JsonWidget, NumberListWidget, NumberWidget, SeedWidget, SelectWidget, TextWidget } from './widgets.tsx';

export interface WidgetProps<F extends Field = Field> {
  field: F;
  value: unknown;
  /** Sets the param (coalesced per field into one undo step until `commit`). */
  set(value: unknown): void;
  /** Ends the edit: the next change is a new undo step. */
  commit(): void;
  nodeId: string;
}

/** One param row: label with description and default as tooltip, the widget, reset, and any problem. */
export const ParamField = memo(function ParamField({
  nodeId,
  field,
  params,
  problems,
}: {
  nodeId: string;
  field: Field;
  params: Record<string, unknown>;
  problems?: string[];
}) {
  const { store, runs } = useEditor();
  const value = fieldValue(field, params);
  const set = useCallback(
    (v: unknown) => {
      store.setParam(nodeId, field.key, v);
      runs.clearFieldProblem(nodeId, field.key);
    },
    [store, runs, nodeId, field.key],
  );
  const commit = useCallback(() => store.seal(), [store]);
  const local = checkValue(field, value);
  const messages = problems ?? (local ? [local] : []);
  const changed = field.default !== undefined && JSON.stringify(value) !== JSON.stringify(field.default);
  const tip = [field.description, field.default !== undefined ? `Default: ${JSON.stringify(field.default)}` : 'No default', `Param: ${field.key}`]
    .filter(Boolean)
    .join('\n');
  const props = { field, value, set, commit, nodeId } as WidgetProps;

  return (
    <div className={`fc-field kind-${field.kind}${messages.length ? ' has-problem' : ''}`} data-field={field.key}>
      <label className="fc-field-label" title={tip}>
        {field.label}
        {changed && (
          <button
            className="fc-reset"
            title={`Reset to the default (${JSON.stringify(field.default)})`}
            onClick={() => {
              set(structuredClone(field.default));
              commit();
            }}
          >
            ↺
          </button>
        )}
      </label>
      <div className="fc-field-widget">{widget(props)}</div>
      {messages.map((m) => (
        <div key={m} className="fc-field-error">
          {m}
        </div>
      ))}
    </div>
  );
});

function widget(p: WidgetProps) {
  switch (p.field.kind) {
    case 'number':
      return <NumberWidget {...(p as WidgetProps<typeof p.field>)} />;
    case 'seed':
      return <SeedWidget {...(p as WidgetProps<typeof p.field>)} nodeId={p.nodeId} />;
    case 'select':
      return <SelectWidget {...(p as WidgetProps<typeof p.field>)} />;
    case 'checkbox':
      return <CheckboxWidget {...p} />;
    case 'text':
      return <TextWidget {...(p as WidgetProps<typeof p.field>)} />;
    case 'colour':
      return <ColourWidget {...p} />;
    case 'number-list':
      return <NumberListWidget {...(p as WidgetProps<typeof p.field>)} />;
    case 'input-path':
      return <InputPathWidget {...p} />;
    case 'model':
      return <ModelWidget {...(p as WidgetProps<typeof p.field>)} />;
    case 'json':
      return <JsonWidget {...p} />;
  }
}
