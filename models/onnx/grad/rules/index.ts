// The rule table: one gradient rule per op type. Add a rule by writing it in the module for its kind
// of op and listing it here; an op on the path to the loss without one is an error, never a zero.
import type { RuleTable } from '../rule.ts';
import { activationRules } from './activation.ts';
import { convRules } from './conv.ts';
import { elementwiseRules } from './elementwise.ts';
import { matmulRules } from './matmul.ts';
import { normRules } from './norm.ts';
import { reduceRules } from './reduce.ts';
import { shapeRules } from './shape.ts';

export const GRAD_RULES: RuleTable = {
  ...elementwiseRules, ...activationRules, ...matmulRules, ...convRules, ...shapeRules, ...normRules, ...reduceRules,
};
