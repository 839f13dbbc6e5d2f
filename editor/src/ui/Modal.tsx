import { useEffect, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

/** A dialog over everything; Escape or a click outside closes it. */
export function Modal({ title, onClose, children, wide }: { title: ReactNode; onClose: () => void; children: ReactNode; wide?: boolean }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onClose]);
  return createPortal(
    <div className="fc-backdrop" onPointerDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`fc-modal${wide ? ' wide' : ''}`} role="dialog" aria-label={typeof title === 'string' ? title : undefined}>
        <div className="fc-modal-head">
          <div className="fc-modal-title">{title}</div>
          <button className="fc-icon-btn" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </div>
        <div className="fc-modal-body">{children}</div>
      </div>
    </div>,
    document.body,
  );
}
