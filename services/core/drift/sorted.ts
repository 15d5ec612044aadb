/** Helpers over ascending-sorted Float64Arrays (the statistics only ever see sorted samples). */

/** Number of elements < x (numpy searchsorted side='left'). */
export function lowerBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements <= x (numpy searchsorted side='right'). */
export function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Copies the finite values of `values` into a new ascending Float64Array. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) out[j++] = v;
  }
  return out.sort();
}

/** Population mean and standard deviation (ddof = 0, like numpy's np.std). */
export function meanStd(a: ArrayLike<number>): { mean: number; std: number } {
  const n = a.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

/** Number of distinct values of a sorted array, counting stops once `cap` is exceeded. */
export function distinctSorted(a: ArrayLike<number>, cap = Infinity): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i === 0 || a[i]! !== a[i - 1]!) {
      n++;
      if (n > cap) return n;
    }
  }
  return n;
}

/** Quantile with linear interpolation between order statistics (numpy's default method). */
export function quantileSorted(a: ArrayLike<number>, q: number): number {
  const n = a.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const frac = pos - lo;
  return a[lo]! + (a[hi]! - a[lo]!) * frac;
}
