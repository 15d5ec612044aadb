/**
 * First Wasserstein distance between two empirical distributions (the area
 * between their CDFs), as scipy.stats.wasserstein_distance computes it.
 * Both inputs ascending, finite and non-empty.
 */
export function wasserstein1(a: Float64Array, b: Float64Array): number {
  if (a.length === 0 || b.length === 0) throw new RangeError('wasserstein needs two non-empty samples');
  const na = a.length;
  const nb = b.length;
  let i = 0;
  let j = 0;
  let prev = Math.min(a[0]!, b[0]!);
  let area = 0;
  while (i < na || j < nb) {
    const v = j >= nb || (i < na && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    area += Math.abs(i / na - j / nb) * (v - prev);
    while (i < na && a[i] === v) i++;
    while (j < nb && b[j] === v) j++;
    prev = v;
  }
  return area;
}

/** Evidently's floor on the reference standard deviation, so constant features do not divide by zero. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/** Wasserstein distance in units of the reference's (population) standard deviation. */
export function wassersteinNormed(ref: Float64Array, cur: Float64Array, referenceStd: number): number {
  return wasserstein1(ref, cur) / Math.max(referenceStd, WASSERSTEIN_MIN_NORM);
}
