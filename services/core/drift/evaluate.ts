import { ksTwoSample, type KsMode } from './ks';
import { psi, psiLevel, type PsiLevel, type PsiResult } from './psi';
import type { FeatureProfile } from './profile';
import { wassersteinNormed } from './wasserstein';

/** Statistic that decides whether a feature drifted. */
export type DriftMethod = 'ks' | 'wasserstein' | 'psi';

export interface DriftThresholds {
  /** KS drift when p-value <= this. */
  readonly ksPValue: number;
  /** Normalized Wasserstein drift when distance >= this. */
  readonly wasserstein: number;
  /** PSI "moderate" shift (and PSI's drift threshold when PSI is the method). */
  readonly psiModerate: number;
  /** PSI "major" shift. */
  readonly psiMajor: number;
  /** Dataset drift when the share of drifted features >= this. */
  readonly datasetShare: number;
  /** 'auto' uses KS when the reference has at most this many rows, Wasserstein above. */
  readonly smallReferenceRows: number;
}

/** Evidently's defaults. */
export const DEFAULT_THRESHOLDS: DriftThresholds = {
  ksPValue: 0.05,
  wasserstein: 0.1,
  psiModerate: 0.1,
  psiMajor: 0.2,
  datasetShare: 0.5,
  smallReferenceRows: 1000,
};

export interface DriftOptions {
  readonly method?: 'auto' | DriftMethod;
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
  readonly method: 'auto' | DriftMethod;
  readonly thresholds: DriftThresholds;
  readonly ksMode: KsMode;
  readonly ksExactMaxCells: number;
  readonly psiBins: 'sturges' | number;
  readonly minSamples: number;
}

export const DEFAULT_MIN_SAMPLES = 30;

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

/** Evidently's rule, with "reference rows" = the feature's finite training values (profile.count). */
export function chooseMethod(ref: FeatureProfile, opts: ResolvedDriftOptions): DriftMethod {
  if (opts.method !== 'auto') return opts.method;
  return ref.count <= opts.thresholds.smallReferenceRows ? 'ks' : 'wasserstein';
}

export interface FeatureDrift {
  readonly feature: string;
  /** 'ok': scored. 'no_reference': the model has no profile for it. 'too_few': fewer than minSamples current values. */
  readonly status: 'ok' | 'no_reference' | 'too_few';
  readonly currentCount: number;
  readonly method: DriftMethod | null;
  /** Value compared with `threshold` (p-value for KS, distance for Wasserstein, index for PSI). */
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

function unscored(feature: string, status: 'no_reference' | 'too_few', currentCount: number): FeatureDrift {
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
  const method = chooseMethod(ref, opts);
  let score: number;
  let threshold: number;
  let detected: boolean;
  switch (method) {
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
      threshold = t.psiModerate;
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
