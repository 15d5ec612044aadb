import { CATEGORICAL_MAX_DISTINCT, type CategoryCounts, alignCounts, chiSquareTest, jensenShannonDistance, valueCounts, zTestPValue } from './categorical';
import { ksTwoSample, type KsMode } from './ks';
import { psi, psiLevel, type PsiLevel, type PsiResult } from './psi';
import type { FeatureProfile } from './profile';
import { wassersteinNormed } from './wasserstein';

/** A method that can be chosen for every feature (`method` option, `--method`). */
export type SelectableMethod = 'ks' | 'wasserstein' | 'psi';
/** Evidently's tests for features with at most 5 distinct values; chosen by 'auto' only. */
export type CategoricalMethod = 'z' | 'chisquare' | 'jensenshannon';
/** Statistic that decides whether a feature drifted. */
export type DriftMethod = SelectableMethod | CategoricalMethod;

export interface DriftThresholds {
  /** KS drift when p-value <= this. */
  readonly ksPValue: number;
  /** Normalized Wasserstein drift when distance >= this. */
  readonly wasserstein: number;
  /** z-test and chi-square drift when p-value < this (strictly, as Evidently). */
  readonly categoricalPValue: number;
  /** Jensen–Shannon drift when distance >= this. */
  readonly jensenShannon: number;
  /** PSI drift when the index >= this (when PSI is the method). */
  readonly psi: number;
  /** PSI "moderate" shift (the `psiLevel` reported beside every score). */
  readonly psiModerate: number;
  /** PSI "major" shift. */
  readonly psiMajor: number;
  /** Dataset drift when the share of drifted features >= this. */
  readonly datasetShare: number;
  /** 'auto' uses KS when the reference has at most this many rows, Wasserstein above. */
  readonly smallReferenceRows: number;
}

/** Evidently's defaults (the batch report's). */
export const DEFAULT_THRESHOLDS: DriftThresholds = {
  ksPValue: 0.05,
  wasserstein: 0.1,
  categoricalPValue: 0.05,
  jensenShannon: 0.1,
  psi: 0.1,
  psiModerate: 0.1,
  psiMajor: 0.2,
  datasetShare: 0.5,
  smallReferenceRows: 1000,
};

export interface DriftOptions {
  readonly method?: 'auto' | SelectableMethod;
  readonly thresholds?: Partial<DriftThresholds>;
  readonly ksMode?: KsMode;
  /** Work cap for exact KS p-values (see ks.ts); above it the asymptotic p-value is used. Default: no cap. */
  readonly ksExactMaxCells?: number;
  /** PSI bins: Evidently's 'sturges' or a fixed count. */
  readonly psiBins?: 'sturges' | number;
  /** Fewer current values than this: no score for the feature. */
  readonly minSamples?: number;
}

export interface ResolvedDriftOptions {
  readonly method: 'auto' | SelectableMethod;
  readonly thresholds: DriftThresholds;
  readonly ksMode: KsMode;
  readonly ksExactMaxCells: number;
  readonly psiBins: 'sturges' | number;
  readonly minSamples: number;
}

export const DEFAULT_MIN_SAMPLES = 30;

/**
 * The online decision (the drift monitor's default): PSI >= 0.2, a "major" shift, per feature.
 * Consecutive inputs of a stream are strongly autocorrelated, so the iid p-value of KS flags
 * most hour-long windows of a healthy stream and the normalized Wasserstein distance a third
 * of them; PSI compares binned shares and does not grow with the window size
 * (docs/drift.md, "Calibration", measured with bench/drift-stream.ts).
 */
export const ONLINE_DRIFT_DEFAULTS: { readonly method: SelectableMethod; readonly thresholds: Partial<DriftThresholds> } = {
  method: 'psi',
  thresholds: { psi: 0.2 },
};

export function resolveDriftOptions(o: DriftOptions = {}): ResolvedDriftOptions {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
  for (const [k, v] of Object.entries(thresholds)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new RangeError(`drift threshold ${k} must be a finite number >= 0, got ${v}`);
  }
  const minSamples = o.minSamples ?? DEFAULT_MIN_SAMPLES;
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new RangeError(`minSamples must be a positive integer, got ${minSamples}`);
  const ksExactMaxCells = o.ksExactMaxCells ?? Infinity;
  if (!(ksExactMaxCells >= 0)) throw new RangeError(`ksExactMaxCells must be >= 0, got ${ksExactMaxCells}`);
  return { method: o.method ?? 'auto', thresholds, ksMode: o.ksMode ?? 'auto', ksExactMaxCells, psiBins: o.psiBins ?? 'sturges', minSamples };
}

/**
 * Evidently's rule, with "reference rows" = the feature's finite training values
 * (profile.count). `categories` is given when reference and current data together hold
 * at most CATEGORICAL_MAX_DISTINCT values.
 */
export function chooseMethod(ref: FeatureProfile, opts: ResolvedDriftOptions, categories?: CategoryCounts): DriftMethod {
  if (opts.method !== 'auto') return opts.method;
  const small = ref.count <= opts.thresholds.smallReferenceRows;
  if (categories) return small ? (categories.values.length > 2 ? 'chisquare' : 'z') : 'jensenshannon';
  return small ? 'ks' : 'wasserstein';
}

/** Both sides' counts per value when they hold at most CATEGORICAL_MAX_DISTINCT values together. */
function fewValues(ref: FeatureProfile, refSample: Float64Array, current: Float64Array): CategoryCounts | undefined {
  if (ref.distinct > CATEGORICAL_MAX_DISTINCT) return undefined;
  const counts = alignCounts(ref.categories ?? valueCounts(refSample), valueCounts(current));
  return counts.values.length <= CATEGORICAL_MAX_DISTINCT ? counts : undefined;
}

export interface FeatureDrift {
  readonly feature: string;
  /**
   * 'ok': scored. 'no_reference': the model has no profile for it. 'too_few': fewer than
   * minSamples current values. 'warming_up' (online): the window is neither full nor as old as
   * the monitor's minWindowSpanMs yet.
   */
  readonly status: 'ok' | 'no_reference' | 'too_few' | 'warming_up';
  readonly currentCount: number;
  readonly method: DriftMethod | null;
  /** Value compared with `threshold`: a p-value for KS, z and chi-square, a distance for Wasserstein and Jensen–Shannon, the index for PSI. */
  readonly score: number | null;
  readonly threshold: number | null;
  readonly detected: boolean;
  readonly psi: number | null;
  readonly psiLevel: PsiLevel | null;
  readonly ksStatistic: number | null;
  readonly ksPValue: number | null;
  readonly ksMode: 'exact' | 'asymp' | null;
  /** Wasserstein distance divided by max(reference std, 0.001). */
  readonly wasserstein: number | null;
}

export interface FeatureEvaluation {
  readonly drift: FeatureDrift;
  /** PSI bins with both samples' shares (for plots); absent when not scored. */
  readonly bins?: PsiResult;
}

export function unscored(feature: string, status: Exclude<FeatureDrift['status'], 'ok'>, currentCount: number): FeatureDrift {
  return {
    feature,
    status,
    currentCount,
    method: null,
    score: null,
    threshold: null,
    detected: false,
    psi: null,
    psiLevel: null,
    ksStatistic: null,
    ksPValue: null,
    ksMode: null,
    wasserstein: null,
  };
}

/**
 * Compares the current values of one feature (ascending, finite) with its
 * reference. `refSample` is the profile's sample as a Float64Array (callers
 * convert it once).
 */
export function evaluateFeature(
  feature: string,
  ref: FeatureProfile | undefined,
  refSample: Float64Array | undefined,
  current: Float64Array,
  opts: ResolvedDriftOptions,
): FeatureEvaluation {
  if (!ref || !refSample || refSample.length === 0) return { drift: unscored(feature, 'no_reference', current.length) };
  if (current.length < opts.minSamples) return { drift: unscored(feature, 'too_few', current.length) };
  const t = opts.thresholds;
  const bins = psi(refSample, current, { bins: opts.psiBins, referenceDistinct: ref.distinct });
  const ks = ksTwoSample(refSample, current, opts.ksMode, { exactMaxCells: opts.ksExactMaxCells });
  const wd = wassersteinNormed(refSample, current, ref.std);
  const categories = opts.method === 'auto' ? fewValues(ref, refSample, current) : undefined;
  const method = chooseMethod(ref, opts, categories);
  let score: number;
  let threshold: number;
  let detected: boolean;
  switch (method) {
    case 'z':
    case 'chisquare':
      score = method === 'z' ? zTestPValue(categories!) : chiSquareTest(categories!).pValue;
      threshold = t.categoricalPValue;
      detected = score < threshold;
      break;
    case 'jensenshannon':
      score = jensenShannonDistance(categories!);
      threshold = t.jensenShannon;
      detected = score >= threshold;
      break;
    case 'ks':
      score = ks.pValue;
      threshold = t.ksPValue;
      detected = score <= threshold;
      break;
    case 'wasserstein':
      score = wd;
      threshold = t.wasserstein;
      detected = score >= threshold;
      break;
    case 'psi':
      score = bins.value;
      threshold = t.psi;
      detected = score >= threshold;
      break;
  }
  return {
    drift: {
      feature,
      status: 'ok',
      currentCount: current.length,
      method,
      score,
      threshold,
      detected,
      psi: bins.value,
      psiLevel: psiLevel(bins.value, t.psiModerate, t.psiMajor),
      ksStatistic: ks.statistic,
      ksPValue: ks.pValue,
      ksMode: ks.mode,
      wasserstein: wd,
    },
    bins,
  };
}

export interface DatasetDrift {
  /** Features with a score. */
  readonly evaluated: number;
  readonly drifted: number;
  /** drifted / evaluated; null when nothing was evaluated. */
  readonly share: number | null;
  readonly datasetDrift: boolean;
}

export function datasetDrift(features: readonly FeatureDrift[], thresholds: DriftThresholds): DatasetDrift {
  const scored = features.filter((f) => f.status === 'ok');
  const drifted = scored.filter((f) => f.detected).length;
  const share = scored.length > 0 ? drifted / scored.length : null;
  return { evaluated: scored.length, drifted, share, datasetDrift: share !== null && share >= thresholds.datasetShare };
}
