// Public surface of the gradient toolkit.
export { buildGradientGraph, gradName, type GradientOptions } from './backward.ts';
export type { TensorInfo, ValueInfos } from './value-infos.ts';
export { addMseLoss } from './loss.ts';
export { GRAD_RULES } from './rules/index.ts';
export type { GradContext, GradRule, NodeAttrs, RuleTable } from './rule.ts';
export { addAdamW, buildAdamW, adamwNames, AdamWConfigSchema, type AdamWConfig, type ParamSpec, type AdamWValues } from './adamw.ts';
export { learningRate, LrScheduleSchema, type LrSchedule } from './lr-schedule.ts';
export { SegmentedGradients, type SegmentOptions, type SegmentRunner, type SegmentStore, type Tensorish } from './segments.ts';
