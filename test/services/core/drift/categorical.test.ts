import { alignCounts, chiSquareTest, gammaQ, jensenShannonDistance, valueCounts, zTestPValue } from '../../../../services/core/drift/categorical';
import { evaluateFeature, resolveDriftOptions } from '../../../../services/core/drift/evaluate';
import { buildReferenceProfile } from '../../../../services/core/drift/profile';

// Reference values: scipy 1.17.1 (scipy.special.gammaincc, scipy.stats.norm.sf,
// scipy.stats.chisquare(f_obs, f_exp), scipy.spatial.distance.jensenshannon).
const counts = (ref: number[], cur: number[]) => ({ values: ref.map((_, i) => i), reference: ref, current: cur });
const rel = (a: number, b: number) => Math.abs(a / b - 1);

describe('statistics for features with few distinct values', () => {
  test('the regularized upper incomplete gamma function matches scipy to 1e-13, far tails included', () => {
    const cases: [number, number, number][] = [
      [0.5, 0.7, 0.23672357063785393],
      [0.5, 32, 1.2441921148543578e-15],
      [0.5, 200, 5.507248237212379e-89],
      [1.5, 1.7, 0.3339652490901604],
      [1.5, 60, 7.716790355634162e-26],
      [2, 25, 3.610865404890647e-10],
      [2.5, 4, 0.1562356275777222],
      [50, 40, 0.9296649333406051],
      [50, 80, 0.0001307839765914092],
    ];
    for (const [a, x, q] of cases) expect({ a, x, rel: rel(gammaQ(a, x), q) < 1e-13 }).toEqual({ a, x, rel: true });
    expect(gammaQ(1, 3)).toBeCloseTo(Math.exp(-3), 15);
  });

  test('the two-proportion z-test p-value is scipy\'s 2·sf(|z|), also where Evidently\'s 2·(1 − cdf) rounds to 0', () => {
    expect(rel(zTestPValue(counts([500, 500], [480, 520])), 0.37099767373660797)).toBeLessThan(1e-12);
    expect(rel(zTestPValue(counts([600, 400], [450, 550])), 1.8600736330088305e-11)).toBeLessThan(1e-10);
    expect(rel(zTestPValue(counts([800, 200], [300, 700])), 7.569954273133713e-112)).toBeLessThan(1e-9);
    expect(zTestPValue({ values: [1], reference: [40], current: [25] })).toBe(1);
  });

  test('chi-square goodness of fit of current counts to the reference shares matches scipy.stats.chisquare', () => {
    const a = chiSquareTest(counts([300, 500, 200], [120, 230, 150]));
    expect(a.statistic).toBeCloseTo(32.6, 12);
    expect(rel(a.pValue, 8.336810789962774e-8)).toBeLessThan(1e-12);
    const b = chiSquareTest(counts([100, 200, 300, 250, 150], [90, 210, 310, 240, 150]));
    expect(b.statistic).toBeCloseTo(2.2333333333333334, 12);
    expect(rel(b.pValue, 0.6929314915784235)).toBeLessThan(1e-12);
    // A value the reference never had: infinite statistic, p = 0.
    expect(chiSquareTest(counts([10, 0], [5, 5]))).toEqual({ statistic: Infinity, pValue: 0 });
  });

  test('the Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon', () => {
    expect(jensenShannonDistance(counts([300, 500, 200], [240, 460, 300]))).toBeCloseTo(0.08438470697538071, 14);
    expect(jensenShannonDistance(counts([5, 5, 0], [2, 3, 5]))).toBeCloseTo(0.4681105951502406, 14);
    expect(jensenShannonDistance(counts([3, 1], [6, 2]))).toBe(0);
  });

  test('counts line up on the union of both sides\' exact values', () => {
    expect(alignCounts(valueCounts([0, 0, 1 / 3, 2]), valueCounts([1 / 3, 1 / 3, 5]))).toEqual({ values: [0, 1 / 3, 2, 5], reference: [2, 1, 1, 0], current: [0, 2, 0, 1] });
  });
});

describe('choosing the test as Evidently does', () => {
  const opts = resolveDriftOptions();
  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  /** A feature whose values cycle through `values` with the given weights. */
  const column = (n: number, values: number[], weights: number[]) => {
    const total = weights.reduce((s, w) => s + w, 0);
    return Array.from({ length: n }, (_, i) => {
      let k = (i * 7919) % total;
      for (let j = 0; j < values.length; j++) if ((k -= weights[j]!) < 0) return values[j]!;
      return values[0]!;
    });
  };
  const evaluate = (ref: number[], cur: number[]) => {
    const profile = buildReferenceProfile(ref.map((v) => [v]), ['f'], { seed: 1 }).features[0]!;
    return evaluateFeature('f', profile, Float64Array.from(profile.sample), sorted(cur), opts).drift;
  };

  test('at most 1000 reference rows: z-test for 2 values, chi-square for 3 to 5', () => {
    const binary = evaluate(column(800, [0, 1], [7, 3]), column(500, [0, 1], [5, 5]));
    expect(binary).toMatchObject({ method: 'z', threshold: 0.05, detected: true });
    expect(binary.score!).toBeLessThan(1e-10);
    const same = evaluate(column(800, [0, 1], [7, 3]), column(500, [0, 1], [7, 3]));
    expect(same).toMatchObject({ method: 'z', detected: false });
    const three = evaluate(column(900, [1 / 3, 2 / 3, 1], [1, 1, 1]), column(600, [1 / 3, 2 / 3, 1], [1, 1, 2]));
    expect(three).toMatchObject({ method: 'chisquare', detected: true });
    // A new value in current data counts toward the 5: six together is numerical again.
    expect(evaluate(column(900, [1, 2, 3, 4, 5], [1, 1, 1, 1, 1]), column(600, [1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1])).method).toBe('ks');
  });

  test('more than 1000 reference rows: Jensen–Shannon distance >= 0.1', () => {
    const shifted = evaluate(column(5000, [0, 1, 2], [6, 3, 1]), column(800, [0, 1, 2], [3, 3, 4]));
    expect(shifted).toMatchObject({ method: 'jensenshannon', threshold: 0.1, detected: true });
    expect(evaluate(column(5000, [0, 1, 2], [6, 3, 1]), column(800, [0, 1, 2], [6, 3, 1]))).toMatchObject({ method: 'jensenshannon', detected: false });
    expect(evaluate(column(5000, [0, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1]), column(800, [0, 1], [1, 1])).method).toBe('wasserstein');
  });

  test('uses the exact reference counts the profile keeps, not the sample', () => {
    // 1 in 2000 rows holds a value the 1000-value sample may miss.
    const ref = column(20_000, [0, 1, 9], [1000, 999, 1]);
    const profile = buildReferenceProfile(ref.map((v) => [v]), ['f'], { seed: 1 }).features[0]!;
    expect(profile.categories).toEqual({ values: [0, 1, 9], counts: [10_000, 9_990, 10] });
    expect(buildReferenceProfile(column(2000, [0, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1]).map((v) => [v]), ['f'], { seed: 1 }).features[0]!.categories).toBeUndefined();
  });
});
