import { useEffect, useMemo, useRef, useState } from 'react';
import { isImageFile, type InputEntry } from '../../../protocol/index.ts';
import { useEditor } from './context.ts';
import { formatSize } from './fields/ModelWidget.tsx';
import { FolderIcon } from './icons.tsx';
import { Modal } from './Modal.tsx';

/** Pick an image or a folder of data/input (GET /api/inputs, with thumbnails), or upload a new one. */
export function InputPicker({ current, onPick, onClose }: { current: string; onPick: (path: string) => void; onClose: () => void }) {
  const { api, session } = useEditor();
  const [entries, setEntries] = useState<InputEntry[]>();
  const [error, setError] = useState<string>();
  const [query, setQuery] = useState('');
  const [uploading, setUploading] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    api.inputs().then(setEntries, (e: Error) => setError(e.message));
  }, [api]);

  const shown = useMemo(() => {
    const q = query.toLowerCase();
    return (entries ?? []).filter((e) => e.path.toLowerCase().includes(q));
  }, [entries, query]);
  const folders = shown.filter((e) => e.kind === 'folder');
  const files = shown.filter((e) => e.kind === 'file' && isImageFile(e.path));

  const upload = async (list: FileList | null) => {
    if (!list?.length) return;
    setUploading(true);
    let last: string | undefined;
    for (const f of list) last = (await session.upload(f, f.name)) ?? last;
    setUploading(false);
    if (last) onPick(last);
  };

  return (
    <Modal title="Pick an input" onClose={onClose} wide>
      <div className="fc-picker-bar">
        <input className="fc-input" autoFocus placeholder="Filter by path…" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button className="fc-btn" onClick={() => fileInput.current?.click()} disabled={uploading}>
          {uploading ? 'Uploading…' : 'Upload images…'}
        </button>
        <input ref={fileInput} type="file" accept="image/*" multiple hidden onChange={(e) => void upload(e.target.files)} />
      </div>
      {error && <p className="fc-error-text">{error}</p>}
      {!entries && !error && <p className="fc-muted">Loading…</p>}
      {folders.length > 0 && (
        <div className="fc-picker-folders">
          {folders.map((f) => (
            <button key={f.path} className={`fc-chip${f.path === current ? ' is-current' : ''}`} onClick={() => onPick(f.path)} title="Use every image in this folder">
              <FolderIcon /> {f.path}
            </button>
          ))}
        </div>
      )}
      <div className="fc-picker-grid">
        {files.map((f) => (
          <button key={f.path} className={`fc-picker-item${f.path === current ? ' is-current' : ''}`} onClick={() => onPick(f.path)} title={f.path}>
            <img src={api.thumbnailUrl(f.path, 160)} alt="" loading="lazy" />
            <span>{f.path.split('/').pop()}</span>
            {f.size !== undefined && <small>{formatSize(f.size)}</small>}
          </button>
        ))}
      </div>
      {entries && !shown.length && <p className="fc-muted">Nothing matches. Upload images or put them into data/input/.</p>}
    </Modal>
  );
}
