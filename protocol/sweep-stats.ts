// Mean, standard error and a 95 % interval of a few samples (Student's t, since N is small).

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (standard tables). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation over sqrt(n); 0 for one sample. */
  se: number;
  /** 95 % interval of the mean: mean -+ t(n-1) x se; equal to the mean for one sample. */
  low: number;
  high: number;
}

/** Summary of the finite samples (NaN ones, e.g. a result without a face, are left out); undefined if none. */
export function summarise(samples: number[]): Summary | undefined {
  const xs = samples.filter(Number.isFinite);
  const n = xs.length;
  if (!n) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const se = sd / Math.sqrt(n);
  const t = n > 1 ? (T95[n - 2] ?? 1.96) : 0;
  return { n, mean, se, low: mean - t * se, high: mean + t * se };
}
