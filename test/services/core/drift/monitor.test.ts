import { Registry } from 'prom-client';
import { createDriftMonitor, driftMetricNames, type DriftMonitor } from '../../../../services/core/drift/monitor';
import { buildReferenceProfile, type ReferenceProfile } from '../../../../services/core/drift/profile';
import { Rng } from '../../../../services/core/rng';

const NAMES = ['x', 'y', 'z'] as const;

function referenceRows(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => [rng.normal(), rng.normal() * 2 + 5, rng.next()]);
}

const profile: ReferenceProfile = buildReferenceProfile(referenceRows(5000, 1), NAMES, { seed: 42 });

interface Sample {
  labels: Record<string, string | number>;
  value: number;
}

async function values(reg: Registry, name: string): Promise<Sample[]> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []) as Sample[];
}

async function value(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return (await values(reg, name)).find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('DriftMonitor', () => {
  let monitors: DriftMonitor[] = [];
  let clock = 1_000_000;
  const make = (opts: Partial<Parameters<typeof createDriftMonitor>[0]> = {}) => {
    const registry = new Registry();
    const m = createDriftMonitor({ profile, featureNames: NAMES, registry, prefix: 'volwatch_', now: () => clock, ...opts });
    monitors.push(m);
    return { m, registry, names: driftMetricNames('volwatch_') };
  };
  afterEach(() => {
    monitors.forEach((m) => m.stop());
    monitors = [];
  });

  test('metric names carry the prefix the service passes in', () => {
    expect(driftMetricNames('volwatch_consumer_')).toMatchObject({
      score: 'volwatch_consumer_drift_score',
      detected: 'volwatch_consumer_drift_detected',
      share: 'volwatch_consumer_drift_share',
      dataset: 'volwatch_consumer_dataset_drift',
    });
    expect(() => driftMetricNames('bad-prefix')).toThrow(RangeError);
  });

  test("'auto': a feature with few distinct values is scored by the categorical test, exported under its own method label", async () => {
    const rows = (n: number, ones: number) => Array.from({ length: n }, (_, i) => [i % 10 < ones ? 1 : 0, (i % 97) / 10]);
    const binaryProfile = buildReferenceProfile(rows(5000, 3), ['flag', 'level'], { seed: 1 });
    const registry = new Registry();
    const m = createDriftMonitor({ profile: binaryProfile, featureNames: ['flag', 'level'], registry, prefix: 'volwatch_', now: () => clock, drift: { method: 'auto' } });
    monitors.push(m);
    for (const r of rows(1000, 7)) m.observe(r);
    const snap = await m.computeNow();
    expect(snap.features.map((f) => [f.feature, f.method, f.detected])).toEqual([['flag', 'jensenshannon', true], ['level', 'wasserstein', false]]);
    const names = driftMetricNames('volwatch_');
    expect(await value(registry, names.score, { feature: 'flag', method: 'jensenshannon' })).toBeCloseTo(snap.features[0]!.score!, 12);
    expect(await value(registry, names.score, { feature: 'level', method: 'jensenshannon' })).toBeUndefined();
  });

  test('inputs from the training distribution: every score exported, PSI decides by default, nothing drifts', async () => {
    const { m, registry, names } = make();
    for (const r of referenceRows(1000, 2)) m.observe(r);
    const snap = await m.computeNow();
    expect(snap.dataset).toMatchObject({ evaluated: 3, drifted: 0, datasetDrift: false });
    expect(snap.features.map((f) => [f.method, f.threshold])).toEqual([['psi', 0.2], ['psi', 0.2], ['psi', 0.2]]);
    expect(await value(registry, names.detected, { feature: 'y' })).toBe(0);
    expect(await value(registry, names.score, { feature: 'y', method: 'wasserstein' })).toBeLessThan(0.1);
    expect(await value(registry, names.score, { feature: 'y', method: 'ks_pvalue' })).toBeGreaterThan(0.05);
    expect(await value(registry, names.score, { feature: 'x', method: 'psi' })).toBeLessThan(0.1);
    expect(await value(registry, names.share)).toBe(0);
    expect(await value(registry, names.dataset)).toBe(0);
    expect(await value(registry, names.windowSize, { feature: 'z' })).toBe(1000);
    expect(await value(registry, names.referenceAvailable)).toBe(1);
  });

  test('shifted inputs: the shifted features pass PSI 0.2 and the dataset verdict follows the 0.5 share', async () => {
    const { m, registry, names } = make();
    for (const r of referenceRows(1000, 3)) m.observe([r[0]! + 1, r[1]! + 2, r[2]!]);
    const snap = await m.computeNow();
    const byName = Object.fromEntries(snap.features.map((f) => [f.feature, f]));
    expect(byName.x!.detected).toBe(true);
    expect(byName.x!.wasserstein).toBeCloseTo(1, 0); // one reference std
    expect(byName.y!.detected).toBe(true);
    expect(byName.z!.detected).toBe(false);
    expect(byName.x!.psiLevel).toBe('major');
    expect(byName.x!.score).toBe(byName.x!.psi);
    expect(byName.z!.psi).toBeLessThan(0.2);
    expect(await value(registry, names.detected, { feature: 'x' })).toBe(1);
    expect(await value(registry, names.share)).toBeCloseTo(2 / 3, 12);
    expect(await value(registry, names.dataset)).toBe(1);
  });

  test("'ks' method and custom thresholds are honoured", async () => {
    const { m } = make({ drift: { method: 'ks', thresholds: { ksPValue: 0.01 } } });
    for (const r of referenceRows(500, 4)) m.observe([r[0]! + 0.5, r[1]!, r[2]!]);
    const snap = await m.computeNow();
    expect(snap.features[0]).toMatchObject({ method: 'ks', threshold: 0.01, detected: true });
    expect(snap.features[0]!.score).toBe(snap.features[0]!.ksPValue);
  });

  test('top-level thresholds are a shorthand for drift.thresholds', async () => {
    const { m } = make({ thresholds: { psi: 50 } });
    for (const r of referenceRows(500, 15)) m.observe([r[0]! + 1, r[1]!, r[2]!]);
    const [x] = (await m.computeNow()).features;
    expect(x).toMatchObject({ method: 'psi', threshold: 50, detected: false });
  });

  test("a PSI threshold and a dataset share of the caller's (DRIFT_STATTEST_THRESHOLD, DRIFT_SHARE)", async () => {
    const { m, registry, names } = make({ drift: { method: 'psi', thresholds: { psi: 0.15, datasetShare: 0.3 } } });
    for (const r of referenceRows(1000, 14)) m.observe([r[0]! + 1, r[1]!, r[2]!]);
    const snap = await m.computeNow();
    const [x, y] = snap.features;
    expect(x).toMatchObject({ method: 'psi', threshold: 0.15, detected: true });
    expect(y!.detected).toBe(y!.psi! >= 0.15);
    expect(snap.dataset.datasetDrift).toBe(true); // 1 of 3 or more >= 0.3
    expect(await value(registry, names.dataset)).toBe(1);
  });

  test("'wasserstein' decides on the normalized distance, whatever PSI says", async () => {
    const { m } = make({ drift: { method: 'wasserstein' } });
    for (const r of referenceRows(1000, 16)) m.observe([r[0]! + 0.15, r[1]!, r[2]!]);
    const [x] = (await m.computeNow()).features;
    expect(x).toMatchObject({ method: 'wasserstein', threshold: 0.1, detected: true });
    expect(x!.score).toBe(x!.wasserstein);
  });

  test("'auto' with a small reference (<= 1000 rows) decides with KS, as Evidently does", async () => {
    const small = buildReferenceProfile(referenceRows(800, 5), NAMES, { seed: 1 });
    const { m } = make({ profile: small, drift: { method: 'auto' } });
    for (const r of referenceRows(200, 6)) m.observe(r);
    expect((await m.computeNow()).features.every((f) => f.method === 'ks')).toBe(true);
  });

  test('NaN and infinite inputs are ignored and counted per feature', async () => {
    const { m, registry, names } = make();
    for (const r of referenceRows(100, 7)) m.observe(r);
    m.observe([NaN, 1, Infinity]);
    await m.computeNow();
    expect(await value(registry, names.ignored, { feature: 'x' })).toBe(1);
    expect(await value(registry, names.ignored, { feature: 'z' })).toBe(1);
    expect(await value(registry, names.windowSize, { feature: 'x' })).toBe(100);
    expect(await value(registry, names.windowSize, { feature: 'y' })).toBe(101);
  });

  test('observeBatch reads back-to-back rows (the API Float32Array batch) like observe', async () => {
    const { m } = make();
    const { m: single } = make();
    const rows = referenceRows(300, 13);
    const flat = Float32Array.from(rows.flat());
    m.observeBatch(flat, rows.length);
    for (let r = 0; r < rows.length; r++) single.observe(flat.subarray(r * 3, r * 3 + 3));
    expect((await m.computeNow()).features).toEqual((await single.computeNow()).features);
    expect(() => m.observeBatch(flat, 301)).toThrow(/301 rows need 903 values, got 900/);
  });

  test('features with too few recent values get no score series (not a misleading 0)', async () => {
    const { m, registry, names } = make({ drift: { minSamples: 50 } });
    for (const r of referenceRows(60, 8)) m.observe([r[0]!, NaN, r[2]!]);
    const snap = await m.computeNow();
    expect(snap.features[1]).toMatchObject({ feature: 'y', status: 'too_few', currentCount: 0, detected: false });
    expect((await values(registry, names.score)).filter((v) => v.labels.feature === 'y')).toEqual([]);
    expect(await value(registry, names.detected, { feature: 'y' })).toBeUndefined();
    expect(await value(registry, names.evaluated)).toBe(2);
  });

  test('an empty window yields no scores at all and no dataset drift', async () => {
    const { m, registry, names } = make();
    const snap = await m.computeNow();
    expect(snap.dataset).toEqual({ evaluated: 0, drifted: 0, share: null, datasetDrift: false });
    expect(await values(registry, names.score)).toEqual([]);
    expect(await value(registry, names.dataset)).toBe(0);
  });

  test('old values age out of the window, series vanish once too few remain', async () => {
    const { m, registry, names } = make({ windowMaxAgeMs: 60_000 });
    for (const r of referenceRows(200, 9)) m.observe(r);
    await m.computeNow();
    expect(await value(registry, names.windowSize, { feature: 'x' })).toBe(200);
    clock += 60_001;
    await m.computeNow();
    expect(await value(registry, names.windowSize, { feature: 'x' })).toBe(0);
    expect(await values(registry, names.score)).toEqual([]);
  });

  test('a window younger than minWindowSpanMs and not full is warming up: no scores, no dataset drift, its size still shown', async () => {
    const { m, registry, names } = make({ windowMaxAgeMs: 60_000, minWindowSpanMs: 45_000, windowSize: 1000 });
    // Shifted inputs: scored, they would be drift.
    for (const r of referenceRows(200, 10)) m.observe([r[0]! + 3, r[1]! + 6, r[2]!]);
    clock += 44_000;
    let snap = await m.computeNow();
    expect(snap.features.map((f) => f.status)).toEqual(['warming_up', 'warming_up', 'warming_up']);
    expect(snap.dataset.datasetDrift).toBe(false);
    expect(await values(registry, names.score)).toEqual([]);
    expect(await value(registry, names.evaluated)).toBe(0);
    expect(await value(registry, names.windowSize, { feature: 'x' })).toBe(200);
    clock += 1_000;
    snap = await m.computeNow();
    expect(snap.features.map((f) => f.status)).toEqual(['ok', 'ok', 'ok']);
    expect(snap.dataset.datasetDrift).toBe(true);
  });

  test('a full window is scored at once, whatever its span', async () => {
    const { m } = make({ windowMaxAgeMs: 60_000, minWindowSpanMs: 45_000, windowSize: 100 });
    for (const r of referenceRows(100, 11)) m.observe(r);
    expect((await m.computeNow()).features.every((f) => f.status === 'ok')).toBe(true);
  });

  test('minWindowSpanMs beyond the window age is refused', () => {
    expect(() => make({ windowMaxAgeMs: 60_000, minWindowSpanMs: 60_001 })).toThrow(/minWindowSpanMs must be between 0 and windowMaxAgeMs/);
  });

  test('a constant feature in the reference and the window is well-defined', async () => {
    const constant = buildReferenceProfile(Array.from({ length: 2000 }, (_, i) => [3, Math.sin(i), 1]), NAMES, { seed: 1 });
    const { m } = make({ profile: constant });
    for (let i = 0; i < 100; i++) m.observe([3, Math.sin(i * 7), i < 50 ? 1 : 2]);
    const [x, , z] = (await m.computeNow()).features;
    expect(x).toMatchObject({ psi: 0, ksStatistic: 0, ksPValue: 1, wasserstein: 0, detected: false });
    expect(z!.detected).toBe(true); // half the values moved by 1 where the reference std is 0
    expect(Number.isFinite(z!.wasserstein!)).toBe(true);
  });

  test('a model without a profile: reference_available 0, observe is a no-op, no scores', async () => {
    const { m, registry, names } = make({ profile: undefined });
    m.start();
    for (const r of referenceRows(100, 10)) m.observe(r);
    const snap = await m.computeNow();
    expect(snap.referenceAvailable).toBe(false);
    expect(snap.features.every((f) => f.status === 'no_reference')).toBe(true);
    expect(await value(registry, names.referenceAvailable)).toBe(0);
    expect(await values(registry, names.score)).toEqual([]);
  });

  test('observe() never computes in its own call stack; the count trigger runs a cycle on a later turn', async () => {
    const { m, registry, names } = make({ computeEvery: 100, minComputeIntervalMs: 0 });
    m.start();
    for (const r of referenceRows(100, 11)) m.observe(r);
    expect(m.snapshot()).toBeUndefined();
    expect(await value(registry, names.lastComputed)).toBe(0);
    for (let i = 0; i < 50 && !m.snapshot(); i++) await new Promise((r) => setImmediate(r));
    expect(m.snapshot()?.dataset.evaluated).toBe(3);
    expect(await value(registry, names.lastComputed)).toBe(clock / 1000);
  });

  test('the timer triggers cycles without traffic; stop() halts it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'performance'] });
    try {
      const { m } = make({ computeIntervalMs: 5000, minComputeIntervalMs: 0 });
      for (const r of referenceRows(100, 12)) m.observe(r);
      m.start();
      expect(m.snapshot()).toBeUndefined();
      jest.advanceTimersByTime(5000);
      for (let i = 0; i < 50 && !m.snapshot(); i++) await new Promise((r) => setImmediate(r));
      const first = m.snapshot();
      expect(first).toBeDefined();
      m.stop();
      clock += 1;
      jest.advanceTimersByTime(20_000);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(m.snapshot()).toBe(first);
    } finally {
      jest.useRealTimers();
    }
  });
});
