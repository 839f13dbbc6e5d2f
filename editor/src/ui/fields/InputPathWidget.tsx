import { useState } from 'react';
import { isImageFile } from '../../../../protocol/index.ts';
import { useEditor } from '../context.ts';
import { FolderIcon } from '../icons.tsx';
import { InputPicker } from '../InputPicker.tsx';
import type { WidgetProps } from './ParamField.tsx';

/** An input image or folder: shows a thumbnail and opens the picker (with upload). */
export function InputPathWidget({ value, set, commit }: WidgetProps) {
  const { api } = useEditor();
  const [open, setOpen] = useState(false);
  const path = typeof value === 'string' ? value : '';
  return (
    <>
      <button className="fc-input fc-path-btn" onClick={() => setOpen(true)} title="Pick an input image or folder">
        {isImageFile(path) ? <img src={api.thumbnailUrl(path, 64)} alt="" /> : <FolderIcon />}
        <span className="fc-path-text">{path || 'pick…'}</span>
      </button>
      {open && (
        <InputPicker
          current={path}
          onPick={(p) => {
            set(p);
            commit();
            setOpen(false);
          }}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}
