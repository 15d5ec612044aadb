import { exactCells, kolmogorovSf, ksPValue, ksStatistic, ksTwoSample } from '../../../../services/core/drift/ks';
import { DEFAULT_ONLINE_KS_EXACT_MAX_CELLS } from '../../../../services/core/drift/monitor';

const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort();
const gen = (n: number, f: (i: number) => number): Float64Array => sorted(Array.from({ length: n }, (_, i) => f(i)));

// Reference values: scipy 1.17.1, scipy.stats.ks_2samp(a, b) (method 'auto' -> exact here) and method='asymp'.
describe('two-sample Kolmogorov–Smirnov', () => {
  test('identical samples give D = 0 and p = 1', () => {
    const a = gen(200, (i) => Math.sin(i * 1.3));
    const r = ksTwoSample(a, a.slice());
    expect(r.statistic).toBe(0);
    expect(r.pValue).toBe(1);
  });

  test('completely separated samples: D = 1 and the textbook exact p = 2 / C(2n, n)', () => {
    const r = ksTwoSample(sorted([1, 2, 3, 4, 5]), sorted([6, 7, 8, 9, 10]));
    expect(r.statistic).toBe(1);
    expect(r.mode).toBe('exact');
    expect(r.pValue).toBeCloseTo(2 / 252, 14);
  });

  test('exact p-values match scipy for equal sizes, unequal sizes and tied values', () => {
    const eq = ksTwoSample(gen(60, (i) => Math.sin(i * 1.3)), gen(60, (i) => Math.sin(i * 0.7) + 0.3));
    expect(eq.statistic).toBeCloseTo(0.26666666666666666, 12);
    expect(eq.pValue).toBeCloseTo(0.027628318680706847, 12);

    const mid = ksTwoSample(gen(300, (i) => Math.cos(i * 0.37)), gen(250, (i) => Math.cos(i * 0.53) * 1.1));
    expect(mid.statistic).toBeCloseTo(0.14, 12);
    expect(mid.pValue).toBeCloseTo(0.008579064989461585, 12);

    const ties = ksTwoSample(gen(40, (i) => i % 7), gen(33, (i) => (i * 3) % 9));
    expect(ties.statistic).toBeCloseTo(0.20833333333333334, 12);
    expect(ties.pValue).toBeCloseTo(0.35008506312076754, 12);
  });

  test('tiny exact p-values keep their relative precision', () => {
    const r = ksTwoSample(gen(1000, (i) => Math.sin(i * 1.7) * 3), gen(700, (i) => Math.sin(i * 2.3) * 3 + 0.5));
    expect(r.statistic).toBeCloseTo(0.186, 12);
    expect(r.pValue / 6.3337519630602e-13).toBeCloseTo(1, 9);
  });

  test("'auto' switches to the asymptotic distribution above 10 000 values: within 1 % of scipy near 0.05, 5 % in the far tail", () => {
    const a = gen(12000, (i) => Math.sin(i * 1.1) * 2);
    const near = ksTwoSample(a, gen(11000, (i) => Math.sin(i * 0.9) * 2 + 0.003));
    expect(near.mode).toBe('asymp');
    expect(near.statistic).toBeCloseTo(0.0175, 12);
    expect(Math.abs(near.pValue / 0.058789833619269816 - 1)).toBeLessThan(0.01);
    const tail = ksTwoSample(a, gen(11000, (i) => Math.sin(i * 0.9) * 2 + 0.02));
    expect(tail.statistic).toBeCloseTo(0.04516666666666667, 12);
    expect(Math.abs(tail.pValue / 1.3017507303880196e-10 - 1)).toBeLessThan(0.05);
  });

  test('forced asymptotic mode stays within 3 % of scipy on small samples', () => {
    const r = ksTwoSample(gen(300, (i) => Math.cos(i * 0.37)), gen(250, (i) => Math.cos(i * 0.53) * 1.1), 'asymp');
    expect(r.mode).toBe('asymp');
    expect(Math.abs(r.pValue / 0.008681664669825688 - 1)).toBeLessThan(0.03);
  });

  test('a work cap sends wide-band (large D) cases to the asymptotic p-value; explicit exact ignores it', () => {
    const a = gen(1000, (i) => Math.sin(i * 1.7));
    const far = gen(1000, (i) => Math.sin(i * 1.3) + 0.3);
    const capped = ksTwoSample(a, far, 'auto', { exactMaxCells: 300_000 });
    expect(capped.mode).toBe('asymp');
    expect(capped.pValue).toBeLessThan(1e-10);
    expect(ksTwoSample(a, far, 'exact', { exactMaxCells: 10 }).mode).toBe('exact');
    // Near the 0.05 decision boundary the band is narrow and stays exact under the same cap.
    const near = ksTwoSample(gen(300, (i) => Math.cos(i * 0.37)), gen(250, (i) => Math.cos(i * 0.53) * 1.1), 'auto', { exactMaxCells: 300_000 });
    expect(near.mode).toBe('exact');
    expect(near.pValue).toBeCloseTo(0.008579064989461585, 12);
  });

  test('under the online cap, exact p-values reach 5.7e-10 for 1000 + 1000 values but only 0.49 for 1000 + 5000 (docs/drift.md)', () => {
    const deepestExact = (n1: number, n2: number, lattice: number) => {
      let h = 1;
      while (exactCells(n1, n2, (h + 1) / lattice) <= DEFAULT_ONLINE_KS_EXACT_MAX_CELLS) h++;
      return ksPValue(n1, n2, h / lattice, 'auto', { exactMaxCells: DEFAULT_ONLINE_KS_EXACT_MAX_CELLS });
    };
    const small = deepestExact(1000, 1000, 1000);
    expect(small).toMatchObject({ mode: 'exact', statistic: 0.148 });
    expect(small.pValue / 5.73e-10).toBeCloseTo(1, 2);
    const api = deepestExact(1000, 5000, 5000);
    expect(api.mode).toBe('exact');
    expect(api.pValue).toBeCloseTo(0.488, 3);
    expect(ksPValue(1000, 5000, api.statistic + 1 / 5000, 'auto', { exactMaxCells: DEFAULT_ONLINE_KS_EXACT_MAX_CELLS }).mode).toBe('asymp');
  });

  test('near the 0.05 decision the asymptotic p-value is within 5 % of the exact one for 1000 + 1000 values and 1.5 % for 1000 + 5000, always below it', () => {
    for (const [n1, n2, lattice, bound] of [[1000, 1000, 1000, 0.05], [1000, 5000, 5000, 0.015]] as const) {
      let checked = 0;
      let h = 1;
      while (ksPValue(n1, n2, h / lattice, 'asymp').pValue > 0.12) h++; // skip to the band cheaply
      for (; h < lattice; h++) {
        const exact = ksPValue(n1, n2, h / lattice, 'exact').pValue;
        if (exact > 0.1) continue;
        if (exact < 0.02) break;
        const err = ksPValue(n1, n2, h / lattice, 'asymp').pValue / exact - 1;
        expect({ n2, h, err: err <= 0 && err > -bound }).toEqual({ n2, h, err: true });
        checked++;
      }
      expect(checked).toBeGreaterThan(5);
    }
  });

  test('Kolmogorov survival function matches published quantiles (p = 0.05 at 1.3581, p = 0.01 at 1.6276)', () => {
    expect(kolmogorovSf(1.3581)).toBeCloseTo(0.05, 4);
    expect(kolmogorovSf(1.6276)).toBeCloseTo(0.01, 4);
    expect(kolmogorovSf(0)).toBe(1);
    // The two series agree where they meet.
    expect(kolmogorovSf(0.9999999)).toBeCloseTo(kolmogorovSf(1.0000001), 6);
  });

  test('a constant sample against itself is no drift, against another constant is total', () => {
    const c = gen(50, () => 3);
    expect(ksTwoSample(c, c.slice()).pValue).toBe(1);
    expect(ksStatistic(c, gen(50, () => 4))).toBe(1);
  });

  test('empty samples are rejected', () => {
    expect(() => ksTwoSample(new Float64Array(0), gen(3, (i) => i))).toThrow(RangeError);
  });
});
