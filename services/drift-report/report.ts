import { FEATURE_NAMES } from '../core/features';
import { datasetDrift, evaluateFeature, resolveDriftOptions, type DriftOptions, type DriftThresholds, type FeatureDrift } from '../core/drift/evaluate';
import { buildReferenceProfile, round6, type ReferenceProfile } from '../core/drift/profile';
import { meanStd, sortedFinite } from '../core/drift/sorted';
import type { FeatureData, ReferenceSource } from './input';

export interface SampleStats {
  readonly count: number;
  readonly missing: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly std: number | null;
}

export interface FeatureReport extends FeatureDrift {
  readonly reference: SampleStats & { readonly sampleSize: number };
  readonly current: SampleStats;
  /** PSI bins with each side's shares: the distribution plot. Absent when the feature was not scored. */
  readonly histogram: { readonly binning: 'histogram' | 'values'; readonly edges: number[]; readonly reference: number[]; readonly current: number[] } | null;
}

export interface DriftReport {
  readonly tool: 'volwatch drift-report';
  readonly schemaVersion: 1;
  readonly reference: {
    readonly source: string;
    readonly kind: ReferenceSource['kind'];
    readonly model: { readonly name: string; readonly version: string } | null;
    /** Rows behind the reference (training rows for a model). */
    readonly rows: number;
  };
  readonly current: {
    readonly source: string;
    readonly format: FeatureData['format'];
    readonly input: FeatureData['input'];
    readonly rows: number;
    readonly ticks: number | null;
    readonly warmupTicks: number | null;
  };
  readonly options: {
    readonly method: string;
    readonly ksMode: string;
    readonly psiBins: 'sturges' | number;
    readonly minSamples: number;
    readonly thresholds: DriftThresholds;
  };
  readonly dataset: { readonly evaluated: number; readonly drifted: number; readonly share: number | null; readonly datasetDrift: boolean; readonly threshold: number };
  readonly features: FeatureReport[];
}

const r6 = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : round6(x));

function stats(sorted: Float64Array, total: number): SampleStats {
  if (sorted.length === 0) return { count: 0, missing: total, min: null, max: null, mean: null, std: null };
  const { mean, std } = meanStd(sorted);
  return { count: sorted.length, missing: total - sorted.length, min: r6(sorted[0]!), max: r6(sorted[sorted.length - 1]!), mean: r6(mean), std: r6(std) };
}

function profileOf(ref: ReferenceSource): ReferenceProfile {
  if (ref.profile) return ref.profile;
  // A file reference is used in full: the reservoir holds every row.
  const rows = ref.data!.rows;
  return buildReferenceProfile(rows, FEATURE_NAMES, { seed: 0, reservoirSize: rows.length });
}

/** Compares current feature rows with the reference; deterministic for the same inputs. */
export function buildReport(ref: ReferenceSource, cur: FeatureData, opts: DriftOptions = {}): DriftReport {
  const resolved = resolveDriftOptions(opts);
  const profile = profileOf(ref);
  const byName = new Map(profile.features.map((f) => [f.name, f]));
  const features = FEATURE_NAMES.map((name, j): FeatureReport => {
    const fp = byName.get(name);
    const sample = fp ? Float64Array.from(fp.sample) : undefined;
    const current = sortedFinite(cur.rows.map((r) => r[j]!));
    const { drift, bins } = evaluateFeature(name, fp, sample, current, resolved);
    const rounded = Object.fromEntries(Object.entries(drift).map(([k, v]) => [k, typeof v === 'number' && k !== 'currentCount' ? r6(v) : v])) as unknown as FeatureDrift;
    return {
      ...rounded,
      reference: fp
        ? { count: fp.count, missing: fp.missing, min: fp.min, max: fp.max, mean: fp.mean, std: fp.std, sampleSize: fp.sample.length }
        : { count: 0, missing: 0, min: null, max: null, mean: null, std: null, sampleSize: 0 },
      current: stats(current, cur.rows.length),
      histogram: bins
        ? { binning: bins.binning, edges: bins.edges.map((e) => round6(e)), reference: bins.reference.map((x) => round6(x)), current: bins.current.map((x) => round6(x)) }
        : null,
    };
  });
  const ds = datasetDrift(features, resolved.thresholds);
  return {
    tool: 'volwatch drift-report',
    schemaVersion: 1,
    reference: { source: ref.path, kind: ref.kind, model: ref.model ?? null, rows: profile.rows },
    current: {
      source: cur.path,
      format: cur.format,
      input: cur.input,
      rows: cur.rows.length,
      ticks: cur.ticks ?? null,
      warmupTicks: cur.warmupTicks ?? null,
    },
    options: { method: resolved.method, ksMode: resolved.ksMode, psiBins: resolved.psiBins, minSamples: resolved.minSamples, thresholds: resolved.thresholds },
    dataset: { ...ds, share: r6(ds.share), threshold: resolved.thresholds.datasetShare },
    features,
  };
}
