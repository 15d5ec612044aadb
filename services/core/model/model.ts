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
