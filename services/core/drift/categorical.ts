/**
 * The tests Evidently uses for a column with few distinct values (at most 5 in the
 * reference and current data together), numerical or not:
 * - reference of at most 1000 rows: the two-proportion z-test when there are at most
 *   2 values, Pearson's chi-square goodness of fit otherwise (both p-values);
 * - larger reference: the Jensen–Shannon distance of the value shares (natural log,
 *   scipy.spatial.distance.jensenshannon).
 * Every value is its own category; counts are of exact values.
 */

/** Distinct values a column may have for the categorical tests to apply (Evidently's rule). */
export const CATEGORICAL_MAX_DISTINCT = 5;

export interface CategoryCounts {
  /** The union of both sides' values, ascending. */
  readonly values: readonly number[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/** Counts per value of an ascending array, as [values, counts]. */
export function valueCounts(sorted: ArrayLike<number>): { values: number[]; counts: number[] } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (values.length && values[values.length - 1] === v) counts[counts.length - 1]!++;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  return { values, counts };
}

/** Lines both sides' counts up on the union of their values. */
export function alignCounts(ref: { values: readonly number[]; counts: readonly number[] }, cur: { values: readonly number[]; counts: readonly number[] }): CategoryCounts {
  const values: number[] = [];
  const reference: number[] = [];
  const current: number[] = [];
  let i = 0;
  let j = 0;
  while (i < ref.values.length || j < cur.values.length) {
    const r = i < ref.values.length ? ref.values[i]! : Infinity;
    const c = j < cur.values.length ? cur.values[j]! : Infinity;
    const v = Math.min(r, c);
    values.push(v);
    reference.push(r === v ? ref.counts[i++]! : 0);
    current.push(c === v ? cur.counts[j++]! : 0);
  }
  return { values, reference, current };
}

const sum = (a: readonly number[]): number => a.reduce((s, x) => s + x, 0);

/**
 * Two-proportion z-test (pooled variance), two-sided, on the share of the smallest
 * value: Evidently's "z" test. p = 1 when both sides hold the same single value.
 */
export function zTestPValue(c: CategoryCounts): number {
  const n1 = sum(c.reference);
  const n2 = sum(c.current);
  if (c.values.length < 2) return 1;
  const p1 = (n1 - c.reference[0]!) / n1;
  const p2 = (n2 - c.current[0]!) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return gammaQ(0.5, (z * z) / 2); // = 2 (1 - Φ(|z|)) without its cancellation
}

/**
 * Pearson's chi-square goodness of fit of the current counts to the reference shares
 * scaled to the current size (scipy.stats.chisquare(f_obs, f_exp), Evidently's
 * "chisquare"); k - 1 degrees of freedom. A value the reference never had makes the
 * statistic infinite and p = 0.
 */
export function chiSquareTest(c: CategoryCounts): { statistic: number; pValue: number } {
  const n1 = sum(c.reference);
  const n2 = sum(c.current);
  let statistic = 0;
  for (let k = 0; k < c.values.length; k++) {
    const expected = (c.reference[k]! * n2) / n1;
    const d = c.current[k]! - expected;
    statistic += expected === 0 ? (d === 0 ? 0 : Infinity) : (d * d) / expected;
  }
  const df = c.values.length - 1;
  return { statistic, pValue: df < 1 ? 1 : statistic === Infinity ? 0 : gammaQ(df / 2, statistic / 2) };
}

/** Jensen–Shannon distance (square root of the divergence, natural log) of the two sides' shares. */
export function jensenShannonDistance(c: CategoryCounts): number {
  const n1 = sum(c.reference);
  const n2 = sum(c.current);
  let js = 0;
  for (let k = 0; k < c.values.length; k++) {
    const p = c.reference[k]! / n1;
    const q = c.current[k]! / n2;
    const m = (p + q) / 2;
    if (p > 0) js += p * Math.log(p / m);
    if (q > 0) js += q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(0, js / 2));
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a): the chi-square survival
 * function is Q(df/2, x/2), the two-sided normal tail is Q(1/2, z²/2). A series for
 * P = 1 - Q below x = a + 1, Lentz's continued fraction above, so small tails keep
 * their relative precision.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  const prefix = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let total = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(total) * 1e-17; n++) {
      term *= x / (a + n);
      total += term;
    }
    return Math.max(0, 1 - total * prefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return prefix * h;
}

// Lanczos approximation (g = 7, 9 terms), about 15 significant digits for a > 0.
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(a) for a > 0. */
export function logGamma(a: number): number {
  if (a < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * a)) - logGamma(1 - a);
  const z = a - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}
