import type { BuiltinVariant } from './artifacts';

/** A variant: one of the built-in names, or a directory holding another ML model. */
export type Variant = BuiltinVariant | `path:${string}`;

/** Bounded label value for metrics: a path variant is reported as "custom". */
export type VariantLabel = BuiltinVariant | 'custom';

export function variantLabel(v: Variant): VariantLabel {
  return v === 'ml' || v === 'baseline' ? v : 'custom';
}

/** Parses MODEL_VARIANT or the variant file's content. Returns undefined when invalid. */
export function parseVariant(raw: string): Variant | undefined {
  const v = raw.trim();
  if (v === 'ml' || v === 'baseline') return v;
  if (v.startsWith('/') || v.startsWith('./')) return `path:${v}`;
  return undefined;
}

export interface Model {
  readonly name: string;
  readonly version: string;
  readonly variant: Variant;
  readonly decisionThreshold: number;
  /**
   * Scores `rows` rows laid out row-major in `input` (rows × FEATURE_COUNT).
   * Resolves to one probability per row.
   */
  predict(input: Float32Array, rows: number): Promise<Float32Array | Float64Array>;
  dispose(): Promise<void>;
}

/** Inference failed at run time (not a load problem): a 500 for the request, a retry for a batch. */
export class InferenceError extends Error {
  override readonly name = 'InferenceError';
}

/**
 * The model returned something that is not a probability (NaN, ±Infinity, outside
 * [0, 1]) for a row: an inference failure of that request only. Never observed by a
 * metric (prom-client's Histogram.observe throws on NaN) and never served.
 */
export class ModelOutputError extends InferenceError {
  constructor(
    readonly row: number,
    readonly value: number,
  ) {
    super(`model returned ${value} for row ${row}; a probability must be a number in [0, 1]`);
  }
}

/** Index of the first value in out[from, to) that is not a probability, or -1. */
export function firstInvalidProbability(out: ArrayLike<number>, from = 0, to = out.length): number {
  for (let i = from; i < to; i++) {
    const p = out[i]!;
    if (!(p >= 0 && p <= 1)) return i;
  }
  return -1;
}
