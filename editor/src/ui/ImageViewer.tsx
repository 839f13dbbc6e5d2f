import { useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import type { ImageRef } from './context.ts';

/** Full-size image viewer: arrows or ←/→ to step, Escape to close, link to the full PNG. */
export function ImageViewer({ images, start, onClose }: { images: ImageRef[]; start: number; onClose: () => void }) {
  const [i, setI] = useState(start);
  const img = images[i];
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
      else if (e.key === 'ArrowRight') setI((k) => (k + 1) % images.length);
      else if (e.key === 'ArrowLeft') setI((k) => (k - 1 + images.length) % images.length);
      else return;
      e.stopPropagation();
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [images.length, onClose]);
  if (!img) return null;
  return createPortal(
    <div className="fc-backdrop fc-modal fc-viewer" onPointerDown={(e) => e.target === e.currentTarget && onClose()}>
      <img className="fc-viewer-img" src={img.url} alt={img.label} />
      <div className="fc-viewer-bar">
        {images.length > 1 && (
          <button className="fc-icon-btn" onClick={() => setI((i - 1 + images.length) % images.length)} aria-label="Previous">
            ‹
          </button>
        )}
        <span>
          {img.label} · {i + 1}/{images.length}
        </span>
        {images.length > 1 && (
          <button className="fc-icon-btn" onClick={() => setI((i + 1) % images.length)} aria-label="Next">
            ›
          </button>
        )}
        {img.full && (
          <a className="fc-btn" href={img.full} target="_blank" rel="noreferrer">
            Open PNG
          </a>
        )}
        <button className="fc-icon-btn" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
    </div>,
    document.body,
  );
}
