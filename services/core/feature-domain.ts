import { FEATURE_COUNT, FEATURE_NAMES, type FeatureName } from './features';

/**
 * The domain of each model feature: every value a real feature row can hold.
 * The API answers 422 for a value outside it, the consumer dead-letters the tick
 * that would produce one. It is deliberately wide: it rejects what cannot be a
 * feature (a negative volatility, a spread above what positive quotes allow, a
 * magnitude no market produces), never drifted but real data; the drift monitor
 * and `volwatch_feature_out_of_distribution_total` judge how unusual a value is.
 *
 * Bounds come from the feature definitions in `features.ts` where they give one,
 * and otherwise from the training statistics: the cap is the power of ten at or
 * above a million times the largest absolute training value (`magnitudeCap`;
 * test/services/core/feature-domain.test.ts checks the caps against the
 * committed model's featureStats). docs/api.md, "Feature domain", has the table.
 */
export interface FeatureDomainBound {
  readonly min: number;
  readonly max: number;
  /** Why the bounds hold, for docs and error messages. */
  readonly basis: string;
}

/** Largest finite float32: the model's input type. Beyond it a value would become ±Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Training magnitude × this, rounded up to a power of ten, caps a feature without a natural bound. */
export const MAGNITUDE_FACTOR = 1e6;

/** The power of ten at or above MAGNITUDE_FACTOR × the largest absolute training value. */
export function magnitudeCap(largestTrainingMagnitude: number): number {
  return 10 ** Math.ceil(Math.log10(MAGNITUDE_FACTOR * largestTrainingMagnitude));
}

/** (ask − bid) / mid × 1e4 with 0 < bid ≤ ask is at most 2·10^4 bps (bid → 0). */
const MAX_SPREAD_BPS = 20_000;
/** log1p of any finite non-negative volume. */
const MAX_LOG_VOLUME = Math.log1p(Number.MAX_VALUE);

const RETURN = 'log return: either sign; magnitude cap from the training data';
const VOLATILITY = 'root of a sum of squared returns: >= 0; cap from the training data';

export const FEATURE_DOMAIN: Readonly<Record<FeatureName, FeatureDomainBound>> = {
  ret_1s: { min: -1e4, max: 1e4, basis: RETURN },
  ret_5s: { min: -1e4, max: 1e4, basis: RETURN },
  ret_30s: { min: -1e5, max: 1e5, basis: RETURN },
  ret_60s: { min: -1e5, max: 1e5, basis: RETURN },
  rv_30s: { min: 0, max: 1e4, basis: VOLATILITY },
  rv_60s: { min: 0, max: 1e4, basis: VOLATILITY },
  spread_bps: { min: 0, max: MAX_SPREAD_BPS, basis: '(ask - bid) / mid x 1e4 with 0 < bid <= ask: [0, 20000]' },
  trade_intensity_30s: { min: 0, max: 1e8, basis: 'trades per second: >= 0; cap from the training data' },
  log_volume_30s: { min: 0, max: MAX_LOG_VOLUME, basis: 'log1p of a finite traded size: [0, log1p(Number.MAX_VALUE) = 709.78]' },
};

/** Bounds in model input order, for loops over flat rows. */
const MIN = Float64Array.from(FEATURE_NAMES, (n) => FEATURE_DOMAIN[n].min);
const MAX = Float64Array.from(FEATURE_NAMES, (n) => FEATURE_DOMAIN[n].max);

/**
 * Why `value` cannot be feature `index` (FEATURE_NAMES order), or undefined when
 * it can. The message completes "<field> ...".
 */
export function featureValueProblem(index: number, value: number): string | undefined {
  if (value >= MIN[index]! && value <= MAX[index]!) return undefined;
  if (!Number.isFinite(value)) return 'must be a finite number';
  if (Math.abs(value) > FLOAT32_MAX) return `must be finite as a float32 (|value| <= ${FLOAT32_MAX}), got ${value}`;
  return `must be between ${MIN[index]} and ${MAX[index]} (docs/api.md, "Feature domain"), got ${value}`;
}

/** Index of the first value of a flat row (FEATURE_NAMES order) outside the domain, or -1. */
export function firstOutOfDomain(row: ArrayLike<number>, offset = 0): number {
  for (let j = 0; j < FEATURE_COUNT; j++) {
    const v = row[offset + j]!;
    if (!(v >= MIN[j]! && v <= MAX[j]!)) return j;
  }
  return -1;
}
