import { histogramEdges, psi, psiLevel } from '../../../../services/core/drift/psi';

const gen = (n: number, f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i)).sort();
const rep = (pairs: [number, number][]): Float64Array => Float64Array.from(pairs.flatMap(([v, n]) => Array<number>(n).fill(v))).sort();

describe('PSI with Evidently binning', () => {
  test('identical samples give 0', () => {
    const a = gen(1000, (i) => Math.sin(i * 1.7) * 3);
    expect(psi(a, a.slice()).value).toBe(0);
  });

  test('few distinct values: one bin per value, hand-computed value', () => {
    const r = psi(rep([[1, 50], [2, 50]]), rep([[1, 80], [2, 20]]));
    expect(r.binning).toBe('values');
    expect(r.edges).toEqual([1, 2]);
    // 0.3 ln(0.5/0.8)... = 0.3 (ln 1.6 + ln 2.5)
    expect(r.value).toBeCloseTo(0.3 * (Math.log(1.6) + Math.log(2.5)), 12);
  });

  test('an empty bin gets epsilon 0.0001', () => {
    const r = psi(rep([[1, 50], [2, 50]]), rep([[1, 100]]));
    expect(r.current).toEqual([1, 0]);
    expect(r.value).toBeCloseTo(-0.5 * Math.log(0.5) + (0.5 - 0.0001) * Math.log(0.5 / 0.0001), 12);
  });

  test('an empty bin next to a share <= 0.0001 gets that share / 1e6', () => {
    const ref = rep([[1, 99_999], [2, 1]]);
    const r = psi(ref, rep([[1, 10], [2, 10], [3, 10]]));
    const refFilled = [0.99999, 0.00001, 0.00001 / 1e6];
    const cur = [1 / 3, 1 / 3, 1 / 3];
    const expected = refFilled.reduce((s, p, i) => s + (p - cur[i]!) * Math.log(p / cur[i]!), 0);
    expect(r.value).toBeCloseTo(expected, 9);
  });

  test('continuous values: Sturges bins over the combined range match numpy/Evidently', () => {
    const r = psi(gen(1000, (i) => Math.sin(i * 1.7) * 3), gen(700, (i) => Math.sin(i * 2.3) * 3 + 0.5));
    expect(r.binning).toBe('histogram');
    expect(r.edges).toHaveLength(13); // numpy.histogram_bin_edges(..., bins='sturges'), 1700 values
    expect(r.value).toBeCloseTo(0.43537343770544584, 12); // numpy 2 + the formula above
    expect(r.reference.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
  });

  test('a fixed bin count is honoured', () => {
    expect(histogramEdges(0, 10, 100, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(histogramEdges(3, 3, 10, 'sturges')).toEqual([2.5, 3.5]);
  });

  test('constant feature against itself: 0; against a new constant: large', () => {
    const c = gen(100, () => 7);
    expect(psi(c, c.slice()).value).toBe(0);
    expect(psi(c, gen(100, () => 8)).value).toBeGreaterThan(1);
  });

  test('levels follow the 0.1 / 0.2 thresholds', () => {
    expect(psiLevel(0.05, 0.1, 0.2)).toBe('none');
    expect(psiLevel(0.1, 0.1, 0.2)).toBe('moderate');
    expect(psiLevel(0.25, 0.1, 0.2)).toBe('major');
  });
});
