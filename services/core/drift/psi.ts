import { lowerBound, upperBound } from './sorted';

/**
 * Population Stability Index with Evidently's binning:
 * - a numerical column whose reference has more than `categoricalMaxDistinct`
 *   (20) distinct values is cut into equal-width bins spanning the combined
 *   reference + current range (numpy `histogram_bin_edges`, Sturges' rule by
 *   default, or a fixed bin count); bins are [e_i, e_i+1), the last one closed;
 * - otherwise every distinct value of either sample is its own bin;
 * - an empty bin gets epsilon = 0.0001, or min(non-empty share) / 1e6 when the
 *   smallest non-empty share is itself <= 0.0001, separately per sample.
 * PSI = sum((ref - cur) * ln(ref / cur)).
 */
export interface PsiOptions {
  /** 'sturges' (Evidently's current default) or a fixed number of equal-width bins. */
  readonly bins?: 'sturges' | number;
  /** Distinct values in the reference at or below which bins are the values themselves. */
  readonly categoricalMaxDistinct?: number;
  /**
   * Distinct values of the full reference when `ref` is only a sample of it
   * (the drift reference sample): decides histogram vs per-value binning.
   */
  readonly referenceDistinct?: number;
}

export interface PsiResult {
  readonly value: number;
  readonly binning: 'histogram' | 'values';
  /** Histogram: bin edges (bins + 1). Per-value binning: the values, ascending. */
  readonly edges: readonly number[];
  /** Shares per bin before the empty-bin epsilon (these are what the report plots). */
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

export const PSI_CATEGORICAL_MAX_DISTINCT = 20;

/** `ref` and `cur` must be ascending, finite and non-empty. */
export function psi(ref: Float64Array, cur: Float64Array, opts: PsiOptions = {}): PsiResult {
  if (ref.length === 0 || cur.length === 0) throw new RangeError('psi needs two non-empty samples');
  const maxDistinct = opts.categoricalMaxDistinct ?? PSI_CATEGORICAL_MAX_DISTINCT;
  const refDistinct = opts.referenceDistinct ?? countDistinct(ref, maxDistinct);
  let edges: number[];
  let refShares: number[];
  let curShares: number[];
  let binning: PsiResult['binning'];
  if (refDistinct > maxDistinct) {
    binning = 'histogram';
    edges = histogramEdges(Math.min(ref[0]!, cur[0]!), Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!), ref.length + cur.length, opts.bins ?? 'sturges');
    refShares = histogramShares(ref, edges);
    curShares = histogramShares(cur, edges);
  } else {
    binning = 'values';
    edges = unionDistinct(ref, cur);
    refShares = valueShares(ref, edges);
    curShares = valueShares(cur, edges);
  }
  const r = fillEmpty(refShares);
  const c = fillEmpty(curShares);
  let value = 0;
  for (let i = 0; i < r.length; i++) value += (r[i]! - c[i]!) * Math.log(r[i]! / c[i]!);
  return { value, binning, edges, reference: refShares, current: curShares };
}

/** Equal-width edges over [lo, hi] the way numpy.histogram_bin_edges computes them. */
export function histogramEdges(lo: number, hi: number, n: number, bins: 'sturges' | number): number[] {
  let first = lo;
  let last = hi;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let count: number;
  if (bins === 'sturges') {
    const width = (hi - lo) / (Math.log2(n) + 1);
    count = width ? Math.ceil((last - first) / width) : 1;
  } else {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
    count = bins;
  }
  const step = (last - first) / count;
  const edges = new Array<number>(count + 1);
  for (let i = 0; i < count; i++) edges[i] = i * step + first;
  edges[count] = last;
  return edges;
}

function histogramShares(a: Float64Array, edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const out = new Array<number>(bins);
  for (let i = 0; i < bins; i++) {
    const from = lowerBound(a, edges[i]!);
    const to = i === bins - 1 ? upperBound(a, edges[i + 1]!) : lowerBound(a, edges[i + 1]!);
    out[i] = (to - from) / a.length;
  }
  return out;
}

function valueShares(a: Float64Array, values: readonly number[]): number[] {
  return values.map((v) => (upperBound(a, v) - lowerBound(a, v)) / a.length);
}

function unionDistinct(a: Float64Array, b: Float64Array): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    out.push(v);
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
  }
  return out;
}

function countDistinct(a: Float64Array, cap: number): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i === 0 || a[i] !== a[i - 1]) if (++n > cap) break;
  }
  return n;
}

function fillEmpty(shares: readonly number[]): number[] {
  let minNonZero = Infinity;
  for (const s of shares) if (s > 0 && s < minNonZero) minNonZero = s;
  const eps = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? eps : s));
}

export type PsiLevel = 'none' | 'moderate' | 'major';

export function psiLevel(value: number, moderate: number, major: number): PsiLevel {
  return value >= major ? 'major' : value >= moderate ? 'moderate' : 'none';
}
