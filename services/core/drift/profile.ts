import { Rng, deriveSeed } from '../rng';
import { CATEGORICAL_MAX_DISTINCT, valueCounts } from './categorical';
import { PSI_CATEGORICAL_MAX_DISTINCT } from './psi';
import { distinctSorted, meanStd, quantileSorted, sortedFinite } from './sorted';

/**
 * What the model remembers about its training data, per feature, for drift
 * detection. Stored as `metadata.referenceProfile`; byte-for-byte reproducible
 * from the same rows and seed. Summary numbers are rounded to 6 significant
 * digits to keep the artifact small; the sample is exact.
 */
export interface FeatureProfile {
  readonly name: string;
  /** Finite training values of this feature: the "reference rows" of Evidently's size rule. */
  readonly count: number;
  /** Non-finite training values (NaN, ±Infinity), excluded from everything else. */
  readonly missing: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (ddof = 0). */
  readonly std: number;
  /** Distinct values, counted up to 21: 21 means "more than 20" (PSI then uses histogram bins). */
  readonly distinct: number;
  /** Quantile bin edges (bins + 1, from min to max; numpy's linear interpolation). */
  readonly quantileEdges: readonly number[];
  /** Share of training values in each quantile bin, [e_i, e_i+1), the last bin closed. */
  readonly quantileProportions: readonly number[];
  /**
   * Stratified random sample of the training values, ascending; the reference side of
   * KS, Wasserstein and PSI. One value drawn at random from each of `sampleSize` equal
   * shares of the sorted column, so its empirical CDF is within 1/sampleSize of the full
   * column's everywhere. All values when there are at most `sampleSize`.
   */
  readonly sample: readonly number[];
  /**
   * Exact counts per value when the feature has at most CATEGORICAL_MAX_DISTINCT (5)
   * distinct values: the reference side of the z, chi-square and Jensen–Shannon tests.
   */
  readonly categories?: { readonly values: readonly number[]; readonly counts: readonly number[] };
}

export interface ReferenceProfile {
  readonly version: 1;
  /** Training rows the profile was built from. */
  readonly rows: number;
  /** The training seed; the sample is drawn from the independent stream deriveSeed(seed, SAMPLE_STREAM). */
  readonly seed: number;
  /** Largest sample per feature. (The field kept its first name: profiles before 'stratified' used a reservoir.) */
  readonly reservoirSize: number;
  /** How `sample` was drawn; absent in older profiles, whose sample is a reservoir of rows seeded with `seed`. */
  readonly sampling?: 'stratified';
  readonly features: readonly FeatureProfile[];
}

export interface BuildProfileOptions {
  /** Quantile bins (default 10: deciles). */
  readonly bins?: number;
  /** Largest sample per feature (default 1000). */
  readonly reservoirSize?: number;
  readonly seed: number;
}

export const DEFAULT_PROFILE_BINS = 10;
export const DEFAULT_RESERVOIR_SIZE = 1000;
/** Name of the random stream the sample is drawn from (see deriveSeed). */
export const SAMPLE_STREAM = 'drift-reference-sample';

export class ReferenceProfileError extends Error {
  override readonly name = 'ReferenceProfileError';
}

/** Rounds to 6 significant digits (and turns -0 into 0). */
export function round6(x: number): number {
  return Number(x.toPrecision(6)) + 0;
}

/**
 * Builds the reference profile from training feature rows (model input order).
 * Deterministic: the same rows, names and options give the same JSON.
 */
export function buildReferenceProfile(
  rows: readonly (Float64Array | readonly number[])[],
  names: readonly string[],
  opts: BuildProfileOptions,
): ReferenceProfile {
  const bins = opts.bins ?? DEFAULT_PROFILE_BINS;
  const reservoirSize = opts.reservoirSize ?? DEFAULT_RESERVOIR_SIZE;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  if (!Number.isInteger(reservoirSize) || reservoirSize < 1) throw new RangeError(`reservoirSize must be a positive integer, got ${reservoirSize}`);
  if (!Number.isInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
  if (rows.length === 0) throw new RangeError('cannot build a reference profile from zero rows');
  rows.forEach((r, i) => {
    if (r.length !== names.length) throw new RangeError(`row ${i} has ${r.length} values, expected ${names.length} (${names.join(', ')})`);
  });

  // Not the training seed's own stream: the simulator draws from that one, and a sample
  // picked by the same numbers that generated the data was the least representative of
  // 41 seeds tried (issue 12).
  const rng = new Rng(deriveSeed(opts.seed, SAMPLE_STREAM));
  const column = new Float64Array(rows.length);
  const features = names.map((name, f): FeatureProfile => {
    for (let i = 0; i < rows.length; i++) column[i] = rows[i]![f]!;
    const sorted = sortedFinite(column);
    if (sorted.length === 0) throw new RangeError(`feature ${name} has no finite value in the training rows`);
    const { mean, std } = meanStd(sorted);
    const edges: number[] = [];
    for (let k = 0; k <= bins; k++) edges.push(quantileSorted(sorted, k / bins));
    const proportions: number[] = [];
    let from = 0;
    for (let k = 0; k < bins; k++) {
      let to = from;
      if (k === bins - 1) to = sorted.length;
      else while (to < sorted.length && sorted[to]! < edges[k + 1]!) to++;
      proportions.push((to - from) / sorted.length);
      from = to;
    }
    const sample = stratifiedSample(sorted, reservoirSize, rng);
    const distinct = distinctSorted(sorted, PSI_CATEGORICAL_MAX_DISTINCT);
    return {
      name,
      count: sorted.length,
      missing: rows.length - sorted.length,
      min: round6(sorted[0]!),
      max: round6(sorted[sorted.length - 1]!),
      mean: round6(mean),
      std: round6(std),
      distinct,
      quantileEdges: edges.map(round6),
      quantileProportions: proportions.map(round6),
      // Exact, not rounded: values that repeat (trade counts per 30 s, categorical codes)
      // must compare equal to the same values in current data.
      sample: Array.from(sample),
      ...(distinct <= CATEGORICAL_MAX_DISTINCT ? { categories: valueCounts(sorted) } : {}),
    };
  });
  return { version: 1, rows: rows.length, seed: opts.seed, reservoirSize, sampling: 'stratified', features };
}

/** One value at random from each of `size` equal shares of `sorted` (all of it when it is not longer). */
function stratifiedSample(sorted: Float64Array, size: number, rng: Rng): Float64Array {
  const n = sorted.length;
  if (n <= size) return sorted;
  const out = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    const lo = Math.floor((k * n) / size);
    const hi = Math.floor(((k + 1) * n) / size);
    out[k] = sorted[lo + rng.int(hi - lo)]!;
  }
  return out;
}

/**
 * Validates `metadata.referenceProfile`. Returns undefined when there is none
 * (models trained before profiles existed); throws ReferenceProfileError when
 * one is present but malformed.
 */
export function parseReferenceProfile(json: unknown): ReferenceProfile | undefined {
  if (json === undefined || json === null) return undefined;
  const fail = (what: string): never => {
    throw new ReferenceProfileError(`invalid reference profile: ${what}`);
  };
  if (typeof json !== 'object' || Array.isArray(json)) fail('not an object');
  const o = json as Record<string, unknown>;
  if (o.version !== 1) fail(`unsupported version ${JSON.stringify(o.version)} (expected 1)`);
  const int = (v: unknown, what: string, min: number): number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fail(`${what} must be an integer >= ${min}`);
  const num = (v: unknown, what: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(`${what} must be a finite number`));
  const nums = (v: unknown, what: string, minLength: number): number[] => {
    if (!Array.isArray(v) || v.length < minLength) return fail(`${what} must be an array of at least ${minLength} numbers`);
    return v.map((x, i) => num(x, `${what}[${i}]`));
  };
  const rows = int(o.rows, 'rows', 1);
  const seed = int(o.seed, 'seed', -(2 ** 53));
  const reservoirSize = int(o.reservoirSize, 'reservoirSize', 1);
  if (o.sampling !== undefined && o.sampling !== 'stratified') fail(`unknown sampling ${JSON.stringify(o.sampling)}`);
  if (!Array.isArray(o.features) || o.features.length === 0) fail('features must be a non-empty array');
  const features = (o.features as unknown[]).map((raw, idx): FeatureProfile => {
    if (typeof raw !== 'object' || raw === null) return fail(`features[${idx}] is not an object`);
    const p = raw as Record<string, unknown>;
    const at = `features[${idx}]`;
    if (typeof p.name !== 'string' || p.name === '') fail(`${at}.name must be a non-empty string`);
    const quantileEdges = nums(p.quantileEdges, `${at}.quantileEdges`, 2);
    const quantileProportions = nums(p.quantileProportions, `${at}.quantileProportions`, 1);
    if (quantileProportions.length !== quantileEdges.length - 1) fail(`${at}.quantileProportions must have one entry per bin`);
    const sample = nums(p.sample, `${at}.sample`, 1);
    for (let i = 1; i < sample.length; i++) if (sample[i]! < sample[i - 1]!) fail(`${at}.sample must be ascending`);
    const std = num(p.std, `${at}.std`);
    if (std < 0) fail(`${at}.std must be >= 0`);
    let categories: FeatureProfile['categories'];
    if (p.categories !== undefined) {
      const c = p.categories as Record<string, unknown> | null;
      const values = nums(c?.values, `${at}.categories.values`, 1);
      const counts = nums(c?.counts, `${at}.categories.counts`, values.length);
      if (counts.length !== values.length || counts.some((n) => !(Number.isInteger(n) && n > 0))) fail(`${at}.categories.counts must be one positive integer per value`);
      for (let i = 1; i < values.length; i++) if (!(values[i]! > values[i - 1]!)) fail(`${at}.categories.values must be strictly ascending`);
      categories = { values, counts };
    }
    return {
      name: p.name as string,
      count: int(p.count, `${at}.count`, 1),
      missing: int(p.missing, `${at}.missing`, 0),
      min: num(p.min, `${at}.min`),
      max: num(p.max, `${at}.max`),
      mean: num(p.mean, `${at}.mean`),
      std,
      distinct: int(p.distinct, `${at}.distinct`, 1),
      quantileEdges,
      quantileProportions,
      sample,
      ...(categories ? { categories } : {}),
    };
  });
  return { version: 1, rows, seed, reservoirSize, ...(o.sampling ? { sampling: 'stratified' as const } : {}), features };
}
