/** Short messages in the corner (toasts): why a wire was refused, what was saved, what failed. */
export type NoticeLevel = 'info' | 'success' | 'warn' | 'error';

export interface Notice {
  id: number;
  level: NoticeLevel;
  text: string;
}

const TIMEOUT: Record<NoticeLevel, number> = { info: 3500, success: 3000, warn: 7000, error: 9000 };
const MAX = 5;

export class Notices {
  private list: readonly Notice[] = [];
  private listeners = new Set<() => void>();
  private next = 1;

  getSnapshot = (): readonly Notice[] => this.list;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** `stay`: shown until clicked away, for what the user must not miss (work set aside, not lost). */
  push(level: NoticeLevel, text: string, stay = false): number {
    const id = this.next++;
    // The same message twice in a row (a refused wire tried again) shows once, freshly timed.
    this.set([...this.list.filter((n) => n.text !== text), { id, level, text }].slice(-MAX));
    if (!stay) setTimeout(() => this.dismiss(id), TIMEOUT[level]);
    return id;
  }

  dismiss(id: number): void {
    if (this.list.some((n) => n.id === id)) this.set(this.list.filter((n) => n.id !== id));
  }

  private set(list: readonly Notice[]): void {
    this.list = list;
    for (const l of this.listeners) l();
  }
}
