import { wasserstein1, wassersteinNormed } from '../../../../services/core/drift/wasserstein';

const gen = (n: number, f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i)).sort();

describe('Wasserstein distance', () => {
  test('identical samples are at distance 0', () => {
    const a = gen(500, (i) => Math.sin(i));
    expect(wasserstein1(a, a.slice())).toBe(0);
  });

  test('a shift by c moves the distribution by exactly c', () => {
    const a = gen(400, (i) => Math.sin(i * 0.3) * 2);
    const b = a.map((x) => x + 0.75);
    expect(wasserstein1(a, b)).toBeCloseTo(0.75, 12);
  });

  test('matches scipy.stats.wasserstein_distance (docs example and unequal sizes)', () => {
    expect(wasserstein1(Float64Array.from([0, 1, 3]), Float64Array.from([5, 6, 8]))).toBeCloseTo(5, 12);
    // scipy 1.17.1
    expect(wasserstein1(gen(1000, (i) => Math.sin(i * 1.7) * 3), gen(700, (i) => Math.sin(i * 2.3) * 3 + 0.5))).toBeCloseTo(0.49564323054170956, 12);
    expect(wasserstein1(gen(40, (i) => i % 7), gen(33, (i) => (i * 3) % 9))).toBeCloseTo(0.6916666666666668, 12);
  });

  test('normalizing by the reference std expresses the shift in standard deviations', () => {
    const a = gen(1000, (i) => Math.sin(i * 0.77));
    const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length - (a.reduce((s, x) => s + x, 0) / a.length) ** 2);
    expect(wassersteinNormed(a, a.map((x) => x + 0.1 * std), std)).toBeCloseTo(0.1, 10);
  });

  test('a constant reference does not divide by zero (std floored at 0.001)', () => {
    const c = gen(10, () => 2);
    expect(wassersteinNormed(c, gen(10, () => 2.001), 0)).toBeCloseTo(1, 9);
    expect(wassersteinNormed(c, c.slice(), 0)).toBe(0);
  });
});
