import { useSyncExternalStore } from 'react';

interface Source<S> {
  subscribe(listener: () => void): () => void;
  getSnapshot(): S;
}

/** Subscribes a component to one slice of a store; the selector must return stored (stable) objects. */
export function useStore<S, T>(source: Source<S>, select: (s: S) => T): T {
  return useSyncExternalStore(source.subscribe, () => select(source.getSnapshot()));
}
