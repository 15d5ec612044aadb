import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow } from '../../../services/core/features';
import { buildReferenceProfile } from '../../../services/core/drift/profile';
import { parseTick } from '../../../services/core/ticks';
import { readFeatureData, readReference } from '../../../services/drift-report/input';
import { buildReport } from '../../../services/drift-report/report';

const FIX = join(__dirname, 'fixtures');

/**
 * Expected values for fixtures/reference.csv vs fixtures/current.csv, computed
 * independently with scipy 1.17.1 / numpy (ks_2samp, wasserstein_distance / np.std(ref),
 * and Evidently's PSI binning with np.histogram_bin_edges(bins='sturges')).
 * [KS D, KS p, Wasserstein normed, PSI]
 */
const SCIPY: Record<string, [number, number, number, number]> = {
  ret_1s: [0.05, 0.573908, 0.0389211, 0.0313683],
  ret_5s: [0.0575, 0.395341, 0.0609894, 0.0518841],
  ret_30s: [0.0325, 0.956756, 0.0317143, 0.0142027],
  ret_60s: [0.0325, 0.956756, 0.034232, 0.0065756],
  rv_30s: [0.02666666666666667, 0.994499, 0.0208867, 0.00621027],
  rv_60s: [0.02, 0.999964, 0.0212094, 0.00316339],
  spread_bps: [0.44916666666666666, 4.27869e-44, 1.71027, 3.47956],
  trade_intensity_30s: [0.020833333333333332, 0.999911, 0.0203903, 0.0117399],
  log_volume_30s: [0.6233333333333333, 7.62325e-88, 1.93179, 8.21547],
};

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('drift report on the fixed input (reference.csv vs current.csv)', () => {
  const ref = readReference(join(FIX, 'reference.csv'));
  const cur = readFeatureData(join(FIX, 'current.csv'), 'current');
  const report = buildReport(ref, cur);

  test('the two features shifted by design drift, the other seven do not; no dataset drift at share 2/9', () => {
    expect(report.reference).toMatchObject({ kind: 'data', rows: 400, model: null });
    expect(report.current).toMatchObject({ format: 'csv', input: 'features', rows: 600 });
    expect(report.dataset).toEqual({ evaluated: 9, drifted: 2, share: 0.222222, datasetDrift: false, threshold: 0.5 });
    expect(report.features.filter((f) => f.detected).map((f) => f.feature)).toEqual(['spread_bps', 'log_volume_30s']);
    // 400 reference rows <= 1000: Evidently's rule picks KS, decided on p <= 0.05.
    expect(report.features.every((f) => f.method === 'ks' && f.threshold === 0.05 && f.ksMode === 'exact')).toBe(true);
    expect(report.features.find((f) => f.feature === 'log_volume_30s')!.psiLevel).toBe('major');
    expect(report.features.find((f) => f.feature === 'ret_1s')!.psiLevel).toBe('none');
  });

  test('every statistic matches scipy/numpy/Evidently computed on the same files', () => {
    // The reference std is stored to 6 significant digits, hence 1e-5 and not 1e-12.
    const mismatches = report.features.flatMap((f) => {
      const [d, p, w, psi] = SCIPY[f.feature]!;
      const got: [string, number, number][] = [
        ['KS D', f.ksStatistic!, d],
        ['KS p', f.ksPValue!, p],
        ['Wasserstein', f.wasserstein!, w],
        ['PSI', f.psi!, psi],
      ];
      return got.filter(([, a, b]) => !(rel(a, b) < 1e-5)).map(([what, a, b]) => `${f.feature} ${what}: ${a} vs scipy ${b}`);
    });
    expect(mismatches).toEqual([]);
  });

  test('per-feature histograms and summaries are in the JSON', () => {
    const spread = report.features.find((f) => f.feature === 'spread_bps')!;
    expect(spread.histogram!.binning).toBe('histogram');
    expect(spread.histogram!.edges).toHaveLength(12); // Sturges on 1000 values: 11 bins
    expect(spread.histogram!.reference.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
    expect(spread.current.mean! / spread.reference.mean!).toBeCloseTo(2, 1);
    expect(spread.current).toMatchObject({ count: 600, missing: 0 });
  });

  test('the JSON is deterministic', () => {
    const again = buildReport(readReference(join(FIX, 'reference.csv')), readFeatureData(join(FIX, 'current.csv'), 'current'));
    expect(JSON.stringify(again)).toBe(JSON.stringify(report));
  });
});

describe('report inputs', () => {
  test('raw ticks are featurized per product exactly like training, after the 60 s warm-up', () => {
    const data = readFeatureData(join(FIX, 'current-ticks.jsonl'), 'current');
    const lines = readFileSync(join(FIX, 'current-ticks.jsonl'), 'utf8').trim().split('\n');
    const w = new TickWindow();
    const expected: Float64Array[] = [];
    const first = parseTick(lines[0]!).timeMs;
    for (const l of lines) {
      const t = parseTick(l);
      w.push(t);
      if (t.timeMs >= first + 60_000) expected.push(w.features(new Float64Array(FEATURE_COUNT)));
    }
    expect(data).toMatchObject({ input: 'ticks', format: 'jsonl', ticks: lines.length, warmupTicks: lines.length - expected.length });
    expect(data.rows).toEqual(expected);
  });

  test('ticks in CSV featurize like the same ticks in JSONL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drift-csv-ticks-'));
    const lines = readFileSync(join(FIX, 'current-ticks.jsonl'), 'utf8').trim().split('\n').slice(0, 1000);
    const fields = ['product_id', 'price', 'best_bid', 'best_ask', 'last_size', 'time', 'sequence'];
    const csv = [fields.join(','), ...lines.map((l) => fields.map((f) => String((JSON.parse(l) as Record<string, unknown>)[f])).join(','))];
    writeFileSync(join(dir, 'ticks.csv'), csv.join('\n'));
    writeFileSync(join(dir, 'ticks.jsonl'), lines.join('\n'));
    const fromCsv = readFeatureData(join(dir, 'ticks.csv'), 'current');
    expect(fromCsv).toMatchObject({ format: 'csv', input: 'ticks', ticks: 1000 });
    expect(fromCsv.rows.length).toBeGreaterThan(0);
    expect(fromCsv.rows).toEqual(readFeatureData(join(dir, 'ticks.jsonl'), 'current').rows);
  });

  test('a bare profile JSON works as the reference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drift-profile-'));
    const rows = readFeatureData(join(FIX, 'reference.csv'), 'reference').rows;
    writeFileSync(join(dir, 'profile.json'), JSON.stringify(buildReferenceProfile(rows, FEATURE_NAMES, { seed: 1 })));
    const ref = readReference(join(dir, 'profile.json'));
    expect(ref.kind).toBe('profile');
    const report = buildReport(ref, readFeatureData(join(FIX, 'current.csv'), 'current'));
    expect(report.features.filter((f) => f.detected).map((f) => f.feature)).toEqual(['spread_bps', 'log_volume_30s']);
  });

  test('a model directory reference uses its profile and, above 1000 training rows, Wasserstein', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drift-model-'));
    const rows = readFeatureData(join(FIX, 'current.csv'), 'current').rows;
    const training = [...rows, ...rows.map((r) => r.map((x) => x * 1.01))];
    const profile = buildReferenceProfile(training, FEATURE_NAMES, { seed: 5, reservoirSize: 500 });
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ name: 'm', version: '9.9.9', features: FEATURE_NAMES, referenceProfile: profile }));
    const ref = readReference(dir);
    expect(ref).toMatchObject({ kind: 'model', model: { name: 'm', version: '9.9.9' } });
    const report = buildReport(ref, readFeatureData(join(FIX, 'reference.csv'), 'current'));
    expect(report.reference.rows).toBe(1200);
    expect(report.features.every((f) => f.method === 'wasserstein' && f.threshold === 0.1)).toBe(true);
    expect(report.features.find((f) => f.feature === 'spread_bps')!.detected).toBe(true);
    expect(report.features.find((f) => f.feature === 'spread_bps')!.reference.sampleSize).toBe(500);
  });

  test('NaN and empty cells count as missing, not as values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drift-nan-'));
    const head = FEATURE_NAMES.join(',');
    const line = (v: string) => FEATURE_NAMES.map(() => v).join(',');
    const rows = [head, ...Array.from({ length: 40 }, (_, i) => line(String(i % 7))), line('NaN'), line('')];
    writeFileSync(join(dir, 'cur.csv'), rows.join('\n'));
    const report = buildReport(readReference(join(FIX, 'reference.csv')), readFeatureData(join(dir, 'cur.csv'), 'current'));
    expect(report.features[0]!.current).toMatchObject({ count: 40, missing: 2 });
  });
});
