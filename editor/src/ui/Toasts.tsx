import { useEditor } from './context.ts';
import { useStore } from './use-store.ts';

export function Toasts() {
  const { notices } = useEditor();
  const list = useStore(notices, (s) => s);
  return (
    <div className="fc-toasts" role="status" aria-live="polite">
      {list.map((n) => (
        <div key={n.id} className={`fc-toast is-${n.level}`} onClick={() => notices.dismiss(n.id)}>
          {n.text}
        </div>
      ))}
    </div>
  );
}
