// The contract the browser editor and the server share: zod schemas and the pure functions over them.
// Browser-safe (zod only); everything outside protocol/ imports it through this file.
export * from './api.ts';
export * from './at.ts';
export * from './catalog.ts';
export * from './component-flatten.ts';
export * from './component-group.ts';
export * from './component-library.ts';
export * from './events.ts';
export * from './graph-format.ts';
export * from './image-files.ts';
export * from './key-order.ts';
export * from './png-text.ts';
export * from './ports.ts';
export * from './preview-frame.ts';
export * from './run-state.ts';
export * from './run-summary.ts';
export * from './sweep-results.ts';
export * from './sweep-spec.ts';
export * from './sweep-stats.ts';
export * from './runtime-info.ts';
