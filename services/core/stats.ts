/** Small descriptive statistics shared by training, the baseline and the OOD checks. */

/** Quantile of an ascending-sorted array, linear interpolation (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i]!;
  mean /= values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(ss / Math.max(1, values.length - 1)) };
}

/** Index of the bin for x given inner edges e0 < e1 < … (bins: (-inf,e0], (e0,e1], …, (ek,inf)). */
export function binIndex(innerEdges: readonly number[], x: number): number {
  let lo = 0;
  let hi = innerEdges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= innerEdges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Rounds to `digits` significant digits so committed artifacts stay small and stable. */
export function sig(x: number, digits = 8): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}
