import type { DType } from '../dtype.ts';

export interface TensorInfo { dtype: DType; dims: number[] }

/** Dtype and concrete shape by value name (what models/train/probe.ts finds by running a graph once). */
export type ValueInfos = ReadonlyMap<string, TensorInfo>;
