import { SAMPLE_STREAM, buildReferenceProfile, parseReferenceProfile, ReferenceProfileError } from '../../../../services/core/drift/profile';
import { deriveSeed } from '../../../../services/core/rng';

const names = ['a', 'b', 'c'] as const;
const rows = Array.from({ length: 5000 }, (_, i) => [Math.sin(i * 1.37) * 10, i % 4, i % 97 === 0 ? NaN : Math.cos(i) / 3]);

describe('reference profile', () => {
  test('summary statistics, deciles and their proportions describe the training rows', () => {
    const p = buildReferenceProfile(rows, names, { seed: 1 });
    expect(p.rows).toBe(5000);
    const [a, b, c] = p.features;
    expect(a!.name).toBe('a');
    expect(a!.count).toBe(5000);
    expect(a!.min).toBeGreaterThanOrEqual(-10);
    expect(a!.max).toBeLessThanOrEqual(10);
    expect(Math.abs(a!.mean)).toBeLessThan(0.05);
    expect(a!.std).toBeCloseTo(10 / Math.SQRT2, 1);
    expect(a!.quantileEdges).toHaveLength(11);
    for (const q of a!.quantileProportions) expect(q).toBeCloseTo(0.1, 3);
    expect(a!.distinct).toBe(21); // "more than 20"
    expect(b!.distinct).toBe(4);
    expect(b!.quantileProportions.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 6);
    // NaN rows are counted apart and left out.
    expect(c!.missing).toBe(52);
    expect(c!.count).toBe(5000 - 52);
    expect(c!.sample.every(Number.isFinite)).toBe(true);
  });

  test('the sample is bounded, ascending, exact, and one draw from each equal share of the sorted column', () => {
    const p = buildReferenceProfile(rows, names, { seed: 1, reservoirSize: 300 });
    const a = p.features[0]!;
    expect(p.sampling).toBe('stratified');
    expect(a.sample).toHaveLength(300);
    const sorted = rows.map((r) => r[0]!).sort((x, y) => x - y);
    const n = sorted.length;
    a.sample.forEach((x, k) => {
      // Stratum k holds sorted[floor(k n / 300) .. floor((k + 1) n / 300) - 1].
      expect(x).toBeGreaterThanOrEqual(sorted[Math.floor((k * n) / 300)]!);
      expect(x).toBeLessThanOrEqual(sorted[Math.floor(((k + 1) * n) / 300) - 1]!);
      expect(sorted).toContain(x); // a training value, not rounded
    });
    expect(buildReferenceProfile(rows.slice(0, 10), names, { seed: 1 }).features[0]!.sample).toEqual(rows.slice(0, 10).map((r) => r[0]!).sort((x, y) => x - y));
  });

  test('repeated values keep their exact value, so they match the same values in current data', () => {
    const thirds = Array.from({ length: 3000 }, (_, i) => [(i % 7) / 3]);
    const s = buildReferenceProfile(thirds, ['t'], { seed: 1 }).features[0]!.sample;
    expect(new Set(s)).toEqual(new Set([0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2]));
  });

  test('draws from a stream independent of the training seed\'s own', () => {
    // Rng(seed) is what the simulator draws from; the sample uses deriveSeed(seed, SAMPLE_STREAM).
    expect(deriveSeed(7, SAMPLE_STREAM)).not.toBe(7);
    expect(deriveSeed(7, SAMPLE_STREAM)).not.toBe(deriveSeed(8, SAMPLE_STREAM));
    expect(deriveSeed(7, SAMPLE_STREAM)).not.toBe(deriveSeed(7, 'another stream'));
  });

  test('is byte-for-byte deterministic for a seed, and the seed matters', () => {
    const one = JSON.stringify(buildReferenceProfile(rows, names, { seed: 7 }));
    expect(JSON.stringify(buildReferenceProfile(rows, names, { seed: 7 }))).toBe(one);
    expect(JSON.stringify(buildReferenceProfile(rows, names, { seed: 8 }))).not.toBe(one);
  });

  test('stays small: 9 features x 1000 samples fit well under the 1 MB artifact budget', () => {
    const wide = Array.from({ length: 20000 }, (_, i) => Array.from({ length: 9 }, (_, j) => Math.sin(i * (j + 1.1)) * 1e-3 + j));
    const json = JSON.stringify(buildReferenceProfile(wide, Array.from({ length: 9 }, (_, j) => `f${j}`), { seed: 3 }));
    expect(json.length).toBeLessThan(200_000);
  });

  test('a constant feature has std 0 and one distinct value', () => {
    const p = buildReferenceProfile(Array.from({ length: 50 }, () => [2.5]), ['k'], { seed: 1 });
    expect(p.features[0]).toMatchObject({ min: 2.5, max: 2.5, std: 0, distinct: 1 });
  });

  test('round-trips through JSON and validation', () => {
    const p = buildReferenceProfile(rows, names, { seed: 1 });
    expect(parseReferenceProfile(JSON.parse(JSON.stringify(p)))).toEqual(p);
  });

  test('old models without a profile parse to undefined', () => {
    expect(parseReferenceProfile(undefined)).toBeUndefined();
    expect(parseReferenceProfile(null)).toBeUndefined();
  });

  test('a malformed profile is rejected with the reason', () => {
    const p = JSON.parse(JSON.stringify(buildReferenceProfile(rows, names, { seed: 1 })));
    expect(() => parseReferenceProfile({ ...p, version: 2 })).toThrow(/unsupported version 2/);
    p.features[1].sample = [3, 2, 1];
    expect(() => parseReferenceProfile(p)).toThrow(ReferenceProfileError);
    expect(() => parseReferenceProfile(p)).toThrow(/features\[1\]\.sample must be ascending/);
  });

  test('bad training input is refused', () => {
    expect(() => buildReferenceProfile([], names, { seed: 1 })).toThrow(/zero rows/);
    expect(() => buildReferenceProfile([[1, 2]], names, { seed: 1 })).toThrow(/row 0 has 2 values, expected 3/);
    expect(() => buildReferenceProfile([[NaN]], ['x'], { seed: 1 })).toThrow(/no finite value/);
  });
});
