import { Counter, Gauge, type Registry } from 'prom-client';
import { ONLINE_DRIFT_DEFAULTS, datasetDrift, evaluateFeature, resolveDriftOptions, unscored, type DatasetDrift, type DriftOptions, type DriftThresholds, type FeatureDrift, type ResolvedDriftOptions } from './evaluate';
import type { FeatureProfile, ReferenceProfile } from './profile';
import { SlidingWindow } from './window';

/** Metric names relative to the prefix (API: `volwatch_`, consumer: `volwatch_consumer_`). */
export const DRIFT_METRIC_SUFFIXES = {
  /**
   * {feature, method}: method = psi | ks_statistic | ks_pvalue | wasserstein (normalized),
   * and for a feature with at most 5 distinct values the test that decides it:
   * z_pvalue | chisquare_pvalue | jensenshannon.
   */
  score: 'drift_score',
  /** {feature}: 1 when the feature's decision statistic crosses its threshold. */
  detected: 'drift_detected',
  /** Share of scored features that drifted. */
  share: 'drift_share',
  /** 1 when drift_share >= the dataset threshold (datasetShare, default 0.5). */
  dataset: 'dataset_drift',
  /** Features that had enough recent values to be scored in the last cycle. */
  evaluated: 'drift_features_evaluated',
  /** {feature}: values currently in the sliding window. */
  windowSize: 'drift_window_size',
  /** {feature}: non-finite inputs left out of the window. */
  ignored: 'drift_ignored_values_total',
  /** 1 when the loaded model carries a reference profile. */
  referenceAvailable: 'drift_reference_available',
  lastComputed: 'drift_last_computed_timestamp_seconds',
  computeDuration: 'drift_compute_duration_seconds',
} as const;

export type DriftMetricNames = { readonly [K in keyof typeof DRIFT_METRIC_SUFFIXES]: string };

export function driftMetricNames(prefix: string): DriftMetricNames {
  if (!/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) throw new RangeError(`invalid metric prefix ${JSON.stringify(prefix)}`);
  const out = {} as Record<keyof typeof DRIFT_METRIC_SUFFIXES, string>;
  for (const [k, v] of Object.entries(DRIFT_METRIC_SUFFIXES)) out[k as keyof typeof DRIFT_METRIC_SUFFIXES] = prefix + v;
  return out;
}

export interface DriftMonitorOptions {
  /** undefined: the model has no profile; observe() is then a no-op and drift_reference_available is 0. */
  readonly profile: ReferenceProfile | undefined;
  /** Order of the values passed to observe() (FEATURE_NAMES). */
  readonly featureNames: readonly string[];
  readonly registry: Registry;
  readonly prefix: string;
  /** Max values per feature window (default 1000). */
  readonly windowSize?: number;
  /** Values older than this leave the window (default 10 minutes). */
  readonly windowMaxAgeMs?: number;
  /**
   * Score a feature only once its window is full or its oldest value is this old (default 0:
   * from minSamples values on). A window a few minutes into a stream, after a restart or a
   * stall, holds a regime or two and would read as drift (docs/drift.md, "Calibration").
   */
  readonly minWindowSpanMs?: number;
  /** Compute after this many observations (default 1000)... */
  readonly computeEvery?: number;
  /** ...or this often, whichever comes first (default 30 s). */
  readonly computeIntervalMs?: number;
  /** Never start cycles closer together than this (default 1 s), whatever the traffic. */
  readonly minComputeIntervalMs?: number;
  /**
   * Method, KS mode, PSI bins, minSamples and thresholds. Defaults: Evidently's, except the
   * decision: ONLINE_DRIFT_DEFAULTS (PSI >= 0.2 per feature; share >= 0.5 for the dataset).
   */
  readonly drift?: DriftOptions;
  /** Shorthand for drift.thresholds (merged over it). */
  readonly thresholds?: Partial<DriftThresholds>;
  /** Clock (tests). Default Date.now. */
  readonly now?: () => number;
  /** Called when a compute cycle throws (default: process.emitWarning). */
  readonly onError?: (err: unknown) => void;
}

export interface DriftSnapshot {
  readonly computedAtMs: number;
  readonly referenceAvailable: boolean;
  readonly features: readonly FeatureDrift[];
  readonly dataset: DatasetDrift;
  /** Synchronous work of the cycle, summed over its slices. */
  readonly computeMs: number;
  /** Longest single slice: the most the cycle ever blocked the event loop at once. */
  readonly maxSliceMs: number;
}

export interface DriftMonitor {
  /** Records one input row (featureNames order). O(1) per feature; never computes statistics. */
  observe(row: ArrayLike<number>): void;
  /** Records `rows` rows stored back to back in `flat` (row-major, featureNames order), without allocating. */
  observeBatch(flat: ArrayLike<number>, rows: number): void;
  /** Starts the timer and the observation-count trigger. */
  start(): void;
  /** Stops scheduling; a cycle in progress is abandoned at its next slice. */
  stop(): void;
  /** Result of the last completed cycle. */
  snapshot(): DriftSnapshot | undefined;
  /** Runs a cycle now (still sliced across event-loop turns) and resolves with its result. */
  computeNow(): Promise<DriftSnapshot>;
  readonly metricNames: DriftMetricNames;
}

/**
 * About 3 ms of work. With a 1000-value reference the exact p-value covers p down to
 * 5.7e-10 against a 1000-value window, 0.0015 against 2000 and 0.49 against 5000 (the
 * API's window); smaller p-values are asymptotic (docs/drift.md, "accuracy").
 */
export const DEFAULT_ONLINE_KS_EXACT_MAX_CELLS = 300_000;

const SCORE_METHODS = ['psi', 'ks_statistic', 'ks_pvalue', 'wasserstein'] as const;
const CATEGORICAL_SCORES = { z: 'z_pvalue', chisquare: 'chisquare_pvalue', jensenshannon: 'jensenshannon' } as const;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A cycle abandoned because stop() was called. */
export class DriftCycleAborted extends Error {
  override readonly name = 'DriftCycleAborted';
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  return v;
}

class Monitor implements DriftMonitor {
  readonly metricNames: DriftMetricNames;
  private readonly names: readonly string[];
  private readonly refs: (FeatureProfile | undefined)[];
  private readonly refSamples: (Float64Array | undefined)[];
  private readonly windows: SlidingWindow[];
  private readonly ignored: number[];
  private readonly hasReference: boolean;
  private readonly drift: ResolvedDriftOptions;
  private readonly computeEvery: number;
  private readonly minWindowSpanMs: number;
  private readonly computeIntervalMs: number;
  private readonly minComputeIntervalMs: number;
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private readonly scratch: Float64Array;
  private readonly g: {
    score: Gauge;
    detected: Gauge;
    share: Gauge;
    dataset: Gauge;
    evaluated: Gauge;
    windowSize: Gauge;
    ignored: Counter;
    referenceAvailable: Gauge;
    lastComputed: Gauge;
    computeDuration: Gauge;
  };
  private sinceCompute = 0;
  private running = false;
  private scheduled = false;
  private cycle: Promise<DriftSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  private lastStartMs = -Infinity;
  private last: DriftSnapshot | undefined;
  private generation = 0;

  constructor(o: DriftMonitorOptions) {
    this.metricNames = driftMetricNames(o.prefix);
    this.names = [...o.featureNames];
    if (this.names.length === 0) throw new RangeError('featureNames must not be empty');
    const windowSize = positiveInt(o.windowSize ?? 1000, 'windowSize');
    const maxAge = o.windowMaxAgeMs ?? 10 * 60_000;
    this.minWindowSpanMs = o.minWindowSpanMs ?? 0;
    if (!(this.minWindowSpanMs >= 0 && this.minWindowSpanMs <= maxAge)) throw new RangeError(`minWindowSpanMs must be between 0 and windowMaxAgeMs (${maxAge}), got ${this.minWindowSpanMs}`);
    this.computeEvery = positiveInt(o.computeEvery ?? 1000, 'computeEvery');
    this.computeIntervalMs = positiveInt(o.computeIntervalMs ?? 30_000, 'computeIntervalMs');
    this.minComputeIntervalMs = o.minComputeIntervalMs ?? 1000;
    if (!(this.minComputeIntervalMs >= 0)) throw new RangeError('minComputeIntervalMs must be >= 0');
    // Online, cap the exact KS work so one feature's slice stays around a few ms (see ks.ts).
    this.drift = resolveDriftOptions({
      ksExactMaxCells: DEFAULT_ONLINE_KS_EXACT_MAX_CELLS,
      method: ONLINE_DRIFT_DEFAULTS.method,
      ...o.drift,
      thresholds: { ...ONLINE_DRIFT_DEFAULTS.thresholds, ...o.drift?.thresholds, ...o.thresholds },
    });
    this.now = o.now ?? Date.now;
    this.onError = o.onError ?? ((err) => process.emitWarning(`drift computation failed: ${(err as Error)?.message ?? String(err)}`));
    const byName = new Map((o.profile?.features ?? []).map((f) => [f.name, f]));
    this.refs = this.names.map((n) => byName.get(n));
    this.refSamples = this.refs.map((r) => (r ? Float64Array.from(r.sample) : undefined));
    this.hasReference = this.refs.some((r) => r !== undefined);
    this.windows = this.names.map(() => new SlidingWindow(windowSize, maxAge));
    this.ignored = this.names.map(() => 0);
    this.scratch = new Float64Array(windowSize);

    const m = this.metricNames;
    const reg = [o.registry];
    const t = this.drift.thresholds;
    const decision =
      this.drift.method === 'auto'
        ? `KS p <= ${t.ksPValue} when the reference has <= ${t.smallReferenceRows} rows, normalized Wasserstein >= ${t.wasserstein} above; for at most 5 distinct values z-test or chi-square p < ${t.categoricalPValue}, Jensen-Shannon >= ${t.jensenShannon} above`
        : { ks: `KS p <= ${t.ksPValue}`, wasserstein: `normalized Wasserstein >= ${t.wasserstein}`, psi: `PSI >= ${t.psi}` }[this.drift.method];
    this.g = {
      score: new Gauge({
        name: m.score,
        help: 'Drift statistic of recent inputs against the training reference, by feature and method (psi, ks_statistic, ks_pvalue, wasserstein = distance / max(reference std, 0.001); z_pvalue, chisquare_pvalue or jensenshannon for features with at most 5 distinct values)',
        labelNames: ['feature', 'method'],
        registers: reg,
      }),
      detected: new Gauge({ name: m.detected, help: `1 when the feature drifted: ${decision}`, labelNames: ['feature'], registers: reg }),
      share: new Gauge({ name: m.share, help: 'Share of scored features that drifted (0 when none was scored; see drift_features_evaluated)', registers: reg }),
      dataset: new Gauge({ name: m.dataset, help: `1 when the share of drifted features is >= ${t.datasetShare}`, registers: reg }),
      evaluated: new Gauge({ name: m.evaluated, help: 'Features with enough recent values to be scored in the last drift cycle', registers: reg }),
      windowSize: new Gauge({ name: m.windowSize, help: 'Recent values held per feature for drift detection', labelNames: ['feature'], registers: reg }),
      ignored: new Counter({ name: m.ignored, help: 'Non-finite feature values left out of the drift windows', labelNames: ['feature'], registers: reg }),
      referenceAvailable: new Gauge({ name: m.referenceAvailable, help: '1 when the loaded model carries a training reference profile for drift detection', registers: reg }),
      lastComputed: new Gauge({ name: m.lastComputed, help: 'Unix time of the last completed drift cycle', registers: reg }),
      computeDuration: new Gauge({ name: m.computeDuration, help: 'Synchronous work of the last drift cycle, seconds', registers: reg }),
    };
    this.g.referenceAvailable.set(this.hasReference ? 1 : 0);
  }

  observe(row: ArrayLike<number>): void {
    this.observeAt(row, 0);
  }

  observeBatch(flat: ArrayLike<number>, rows: number): void {
    const width = this.windows.length;
    if (flat.length < rows * width) throw new RangeError(`observeBatch: ${rows} rows need ${rows * width} values, got ${flat.length}`);
    for (let r = 0; r < rows; r++) this.observeAt(flat, r * width);
  }

  private observeAt(data: ArrayLike<number>, offset: number): void {
    if (!this.hasReference) return;
    const now = this.now();
    const windows = this.windows;
    for (let i = 0; i < windows.length; i++) {
      const v = data[offset + i];
      // v - v is 0 only for finite numbers: NaN and ±Infinity are counted, not kept.
      if (v !== undefined && v - v === 0) windows[i]!.push(v, now);
      else this.ignored[i]!++;
    }
    if (++this.sinceCompute >= this.computeEvery && this.running && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.trigger());
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.hasReference) return;
    this.timer = setInterval(() => {
      if (!this.scheduled) {
        this.scheduled = true;
        this.trigger();
      }
    }, this.computeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.timer = undefined;
    this.delayTimer = undefined;
    this.scheduled = false;
  }

  snapshot(): DriftSnapshot | undefined {
    return this.last;
  }

  computeNow(): Promise<DriftSnapshot> {
    return this.cycle ?? this.runCycle(this.generation);
  }

  /** Entered from a timer or setImmediate, never from observe()'s stack. */
  private trigger(): void {
    if (!this.running) return;
    const wait = this.lastStartMs + this.minComputeIntervalMs - this.now();
    if (wait > 0) {
      this.delayTimer = setTimeout(() => this.trigger(), wait);
      this.delayTimer.unref();
      return;
    }
    if (this.cycle) {
      this.scheduled = false;
      return;
    }
    this.runCycle(this.generation).then(
      () => undefined,
      (err: unknown) => {
        if (!(err instanceof DriftCycleAborted)) this.onError(err);
      },
    );
  }

  private runCycle(generation: number): Promise<DriftSnapshot> {
    const p = this.cycleBody(generation).finally(() => {
      this.cycle = undefined;
      this.scheduled = false;
    });
    this.cycle = p;
    return p;
  }

  private async cycleBody(generation: number): Promise<DriftSnapshot> {
    this.lastStartMs = this.now();
    this.sinceCompute = 0;
    let busy = 0;
    let maxSlice = 0;
    const results: FeatureDrift[] = [];
    for (let i = 0; i < this.names.length; i++) {
      // One feature per event-loop turn keeps each blocking slice short.
      await nextTurn();
      if (generation !== this.generation) throw new DriftCycleAborted('drift monitor stopped during a cycle');
      const t0 = performance.now();
      const feature = this.names[i]!;
      const w = this.windows[i]!;
      const now = this.now();
      w.evict(now);
      // Too few values or no reference: evaluateFeature says so.
      const warm = w.size === w.capacity || w.size < this.drift.minSamples || w.oldestMs! <= now - this.minWindowSpanMs;
      const drift = warm || !this.refs[i] ? evaluateFeature(feature, this.refs[i], this.refSamples[i], w.copyTo(this.scratch).sort(), this.drift).drift : unscored(feature, 'warming_up', w.size);
      results.push(drift);
      this.publishFeature(i, drift);
      const slice = performance.now() - t0;
      busy += slice;
      if (slice > maxSlice) maxSlice = slice;
    }
    const t1 = performance.now();
    const dataset = datasetDrift(results, this.drift.thresholds);
    this.g.share.set(dataset.share ?? 0);
    this.g.dataset.set(dataset.datasetDrift ? 1 : 0);
    this.g.evaluated.set(dataset.evaluated);
    const computedAtMs = this.now();
    this.g.lastComputed.set(computedAtMs / 1000);
    const tail = performance.now() - t1;
    busy += tail;
    if (tail > maxSlice) maxSlice = tail;
    this.g.computeDuration.set(busy / 1000);
    this.last = { computedAtMs, referenceAvailable: this.hasReference, features: results, dataset, computeMs: busy, maxSliceMs: maxSlice };
    return this.last;
  }

  private publishFeature(i: number, d: FeatureDrift): void {
    const feature = d.feature;
    this.g.windowSize.set({ feature }, this.windows[i]!.size);
    if (this.ignored[i]! > 0) {
      this.g.ignored.inc({ feature }, this.ignored[i]!);
      this.ignored[i] = 0;
    }
    if (d.status !== 'ok') {
      // No score beats a misleading one: series disappear until there is enough data.
      for (const method of SCORE_METHODS) this.g.score.remove({ feature, method });
      for (const method of Object.values(CATEGORICAL_SCORES)) this.g.score.remove({ feature, method });
      this.g.detected.remove({ feature });
      return;
    }
    for (const [test, method] of Object.entries(CATEGORICAL_SCORES)) {
      if (d.method === test) this.g.score.set({ feature, method }, d.score!);
      else this.g.score.remove({ feature, method });
    }
    this.g.score.set({ feature, method: 'psi' }, d.psi!);
    this.g.score.set({ feature, method: 'ks_statistic' }, d.ksStatistic!);
    this.g.score.set({ feature, method: 'ks_pvalue' }, d.ksPValue!);
    this.g.score.set({ feature, method: 'wasserstein' }, d.wasserstein!);
    this.g.detected.set({ feature }, d.detected ? 1 : 0);
  }
}

/** Online drift detection for one process; see docs/drift.md. */
export function createDriftMonitor(options: DriftMonitorOptions): DriftMonitor {
  return new Monitor(options);
}
