/**
 * npx tsx bench/drift-accuracy.ts — the measured figures of docs/drift.md, reproducible:
 * 1. how far down the exact KS p-value goes under the online work cap, for the
 *    1000-value reference sample against the window sizes in use;
 * 2. the asymptotic KS p-value's relative error against the exact one, over every lattice
 *    D with p >= 1e-10, in p bands (about a minute);
 * 3. the calibration table: normalized Wasserstein per feature over windows of 1000
 *    consecutive rows (a cycle every 500) of 20 000 simulated ticks (seed 7, not used in
 *    training), normal and with 3x the trade rate, and over all rows at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDrift, evaluateFeature, resolveDriftOptions } from '../services/core/drift/evaluate';
import { exactCells, ksPValue } from '../services/core/drift/ks';
import { DEFAULT_ONLINE_KS_EXACT_MAX_CELLS } from '../services/core/drift/monitor';
import { parseReferenceProfile } from '../services/core/drift/profile';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow } from '../services/core/features';
import { TickSimulator } from '../services/core/simulator';

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const lattice = (n1: number, n2: number): number => (n1 / gcd(n1, n2)) * n2;

function exactCoverage(): void {
  console.log(`1. exact KS p-values under the online cap (${DEFAULT_ONLINE_KS_EXACT_MAX_CELLS} cells)`);
  for (const [n1, n2] of [[1000, 1000], [1000, 2000], [1000, 5000], [1000, 10000]] as const) {
    const lcm = lattice(n1, n2);
    let h = 1;
    while (exactCells(n1, n2, (h + 1) / lcm) <= DEFAULT_ONLINE_KS_EXACT_MAX_CELLS) h++;
    console.log(`   ${n1} + ${n2}: exact up to D = ${(h / lcm).toFixed(4)}, p down to ${ksPValue(n1, n2, h / lcm, 'exact').pValue.toPrecision(3)}`);
  }
}

function asymptoticAccuracy(): void {
  const bands: [string, number, number][] = [['0.02 <= p <= 0.1', 0.02, 0.1], ['1e-3 <= p < 0.01', 1e-3, 0.01], ['1e-6 <= p < 1e-3', 1e-6, 1e-3], ['1e-10 <= p < 1e-6', 1e-10, 1e-6]];
  console.log('2. asymptotic vs exact KS p-value, largest relative error per band');
  for (const [n1, n2] of [[1000, 1000], [1000, 5000], [1000, 20000], [5000, 20000]] as const) {
    const lcm = lattice(n1, n2);
    const worst = bands.map(() => 0);
    const step = Math.max(1, Math.round(lcm / 4000));
    for (let h = step; h < lcm; h += step) {
      const exact = ksPValue(n1, n2, h / lcm, 'exact').pValue;
      if (exact < 1e-10) break;
      const err = ksPValue(n1, n2, h / lcm, 'asymp').pValue / exact - 1;
      bands.forEach(([, lo, hi], i) => {
        if (exact >= lo && exact <= hi && Math.abs(err) > Math.abs(worst[i]!)) worst[i] = err;
      });
    }
    console.log(`   ${n1} + ${n2}: ${bands.map(([name], i) => `${name} ${(worst[i]! * 100).toFixed(1)} %`).join(', ')}`);
  }
}

function calibration(): void {
  const profile = parseReferenceProfile(JSON.parse(readFileSync(join(__dirname, '../services/model/artifacts/metadata.json'), 'utf8')).referenceProfile)!;
  const samples = profile.features.map((f) => Float64Array.from(f.sample));
  const opts = resolveDriftOptions();
  const score = (rows: Float64Array[]) =>
    FEATURE_NAMES.map((name, j) => evaluateFeature(name, profile.features[j], samples[j], Float64Array.from(rows, (r) => r[j]!).sort(), opts).drift);
  console.log('3. calibration: normalized Wasserstein per feature (windows of 1000 rows, a cycle every 500)');
  for (const [label, rateMultiplier] of [['normal', 1], ['trade rate x3', 3]] as const) {
    const sim = new TickSimulator({ seed: 7, startMs: Date.UTC(2026, 5, 1), rateMultiplier });
    const windows = new Map<string, { w: TickWindow; first: number }>();
    const rows: Float64Array[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t = sim.next();
      let s = windows.get(t.productId);
      if (!s) windows.set(t.productId, (s = { w: new TickWindow(), first: t.timeMs }));
      s.w.push(t);
      if (t.timeMs - s.first >= 60_000) rows.push(s.w.features(new Float64Array(FEATURE_COUNT))); // warm-up, as training
    }
    const ranges = FEATURE_NAMES.map(() => [Infinity, -Infinity]);
    let cycles = 0;
    let drifted = 0;
    for (let end = 1000; end <= rows.length; end += 500, cycles++) {
      const d = score(rows.slice(end - 1000, end));
      d.forEach((f, j) => (ranges[j] = [Math.min(ranges[j]![0]!, f.wasserstein!), Math.max(ranges[j]![1]!, f.wasserstein!)]));
      if (datasetDrift(d, opts.thresholds).datasetDrift) drifted++;
    }
    const all = score(rows);
    console.log(`   ${label}: ${rows.length} rows, dataset drift in ${drifted} of ${cycles} cycles`);
    console.log(`     per cycle: ${FEATURE_NAMES.map((n, j) => `${n} ${ranges[j]![0]!.toFixed(2)}–${ranges[j]![1]!.toFixed(2)}`).join(', ')}`);
    console.log(`     all rows at once: ${all.map((f) => `${f.feature} ${f.wasserstein!.toFixed(3)}`).join(', ')}; ${all.filter((f) => f.detected).length} of 9 drifted, share ${datasetDrift(all, opts.thresholds).share!.toFixed(2)}`);
  }
}

exactCoverage();
asymptoticAccuracy();
calibration();
