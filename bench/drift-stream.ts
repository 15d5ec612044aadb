/**
 * npx tsx bench/drift-stream.ts [--rate natural|N] [--minutes 360] [--window 60000] [--max-age-min 60]
 *     [--every-s 60] [--hold-s 900] [--keep 1] [--drift SPEC [--drift-after-min M]] [--psi 0.1,0.2]
 *     [--share 0.5] [--seeds 1,2,3,4] [--products BTC-USD,ETH-USD,SOL-USD]
 *
 * The online drift decision on a live-like stream, reproducible (docs/drift.md, "Calibration").
 * The producer's simulated source (`--rate natural`: ticks at the market's own pace, the
 * producer's default; `--rate N`: exactly N ticks a second, stamped when released), optionally
 * through the producer's drift injector from `--drift-after-min` on; one TickWindow per
 * product, complete windows only, as the consumer feeds its drift monitor; `--keep` < 1 keeps
 * that share of the rows, as the API's load generator samples ticks. A sliding window of
 * `--window` rows no older than `--max-age-min` minutes is scored every `--every-s` seconds
 * of stream time once it is full. For each decision rule (KS p <= 0.05, normalized
 * Wasserstein >= 0.1, PSI >= each of `--psi`) it prints how many cycles see dataset drift
 * (share >= `--share`), the longest run of them, the range of drifted features per cycle and,
 * with `--drift`, how long after the drift started the first dataset drift came; then, per
 * feature, the largest PSI held for `--hold-s` seconds (an alert's `for`) and the largest PSI.
 */
import { parseArgs } from 'node:util';
import { evaluateFeature, resolveDriftOptions, type FeatureDrift } from '../services/core/drift/evaluate';
import { DEFAULT_ONLINE_KS_EXACT_MAX_CELLS } from '../services/core/drift/monitor';
import { parseReferenceProfile } from '../services/core/drift/profile';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow } from '../services/core/features';
import { tryReadMetadata } from '../services/core/model/artifacts';
import { Rng } from '../services/core/rng';
import { DEFAULT_PRODUCTS } from '../services/core/simulator';
import type { Tick } from '../services/core/ticks';
import { DriftInjector, NaturalPaceSource, SimulatedSource, parseDriftSpec, productSpecs } from '../services/producer/sources';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: 'natural' },
    minutes: { type: 'string', default: '360' },
    window: { type: 'string', default: '60000' },
    'max-age-min': { type: 'string', default: '60' },
    'every-s': { type: 'string', default: '60' },
    'hold-s': { type: 'string', default: '900' },
    keep: { type: 'string', default: '1' },
    drift: { type: 'string' },
    'drift-after-min': { type: 'string', default: '0' },
    psi: { type: 'string', default: '0.1,0.2' },
    share: { type: 'string', default: '0.5' },
    seeds: { type: 'string', default: '1,2,3,4' },
    products: { type: 'string', default: DEFAULT_PRODUCTS.map((p) => p.productId).join(',') },
  },
});
const rate = values.rate === 'natural' ? 'natural' : Number(values.rate);
const minutes = Number(values.minutes);
const windowSize = Number(values.window);
const maxAgeMs = Number(values['max-age-min']) * 60_000;
const everyMs = Number(values['every-s']) * 1000;
const holdCycles = Math.max(1, Math.round((Number(values['hold-s']) * 1000) / everyMs));
const keep = Number(values.keep);
const share = Number(values.share);
const driftAfterMs = Number(values['drift-after-min']) * 60_000;
const parsed = values.drift ? parseDriftSpec(values.drift) : undefined;
if (typeof parsed === 'string') throw new Error(`--drift: ${parsed}`);
const rules = parsed;

const profile = parseReferenceProfile(tryReadMetadata('services/model/artifacts')!.referenceProfile)!;
const samples = profile.features.map((f) => Float64Array.from(f.sample));
const opts = resolveDriftOptions({ method: 'psi', ksExactMaxCells: DEFAULT_ONLINE_KS_EXACT_MAX_CELLS });

/** Decision rules compared on the same windows: a name, and whether one feature drifted. */
const DECISIONS: [string, (d: FeatureDrift) => boolean][] = [
  ['KS p <= 0.05', (d) => d.ksPValue! <= 0.05],
  ['normalized Wasserstein >= 0.1', (d) => d.wasserstein! >= 0.1],
  ...values.psi!.split(',').map((t): [string, (d: FeatureDrift) => boolean] => [`PSI >= ${t}`, (d) => d.psi! >= Number(t)]),
];

interface Tally {
  dataset: number;
  longest: number;
  run: number;
  minDrifted: number;
  maxDrifted: number;
  /** Minutes from the drift's start to the first cycle with dataset drift. */
  detectedAfterMin?: number;
}

/** Ticks of the stream in time order, each with the time it is observed. */
function stream(seed: number, t0: number): () => Tick {
  const products = productSpecs(values.products!.split(','));
  if (rate === 'natural') {
    const src = new NaturalPaceSource(seed, products, t0);
    return () => src.next();
  }
  const src = new SimulatedSource(seed, products, rate);
  let i = 0;
  return () => src.next(t0 + (i++ * 1000) / rate);
}

function run(seed: number) {
  const t0 = Date.UTC(2026, 5, 1);
  const next = stream(seed, t0);
  const rng = new Rng(seed + 1000);
  const injector = rules ? new DriftInjector(rules) : undefined;
  const windows = new Map<string, TickWindow>();
  let rows: Float64Array[] = [];
  let times: number[] = [];
  const tallies: Tally[] = DECISIONS.map(() => ({ dataset: 0, longest: 0, run: 0, minDrifted: Infinity, maxDrifted: 0 }));
  const maxPsi = FEATURE_NAMES.map(() => 0);
  const held = FEATURE_NAMES.map(() => 0);
  const recent: number[][] = FEATURE_NAMES.map(() => []);
  let nextCycle = -1;
  let cycles = 0;
  for (;;) {
    let tick = next();
    const now = tick.timeMs;
    if (now >= t0 + minutes * 60_000) break;
    if (injector && now >= t0 + driftAfterMs) tick = injector.apply(tick);
    let w = windows.get(tick.productId);
    if (!w) windows.set(tick.productId, (w = new TickWindow()));
    w.push(tick);
    if (!w.complete || (keep < 1 && rng.next() >= keep)) continue;
    rows.push(w.features(new Float64Array(FEATURE_COUNT)));
    times.push(now);
    if (nextCycle < 0 && (rows.length >= windowSize || now - times[0]! >= maxAgeMs)) nextCycle = now;
    if (nextCycle < 0 || now < nextCycle) continue;
    nextCycle = now + everyMs;
    let from = Math.max(0, rows.length - windowSize);
    while (times[from]! < now - maxAgeMs) from++;
    rows = rows.slice(from);
    times = times.slice(from);
    const drift = FEATURE_NAMES.map((name, j) => evaluateFeature(name, profile.features[j], samples[j], Float64Array.from(rows, (r) => r[j]!).sort(), opts).drift);
    cycles++;
    drift.forEach((d, j) => {
      maxPsi[j] = Math.max(maxPsi[j]!, d.psi!);
      const r = recent[j]!;
      r.push(d.psi!);
      if (r.length > holdCycles) r.shift();
      if (r.length === holdCycles) held[j] = Math.max(held[j]!, Math.min(...r));
    });
    DECISIONS.forEach(([, decide], k) => {
      const n = drift.filter(decide).length;
      const t = tallies[k]!;
      t.minDrifted = Math.min(t.minDrifted, n);
      t.maxDrifted = Math.max(t.maxDrifted, n);
      if (n / drift.length < share) {
        t.run = 0;
        return;
      }
      t.dataset++;
      t.longest = Math.max(t.longest, ++t.run);
      if (injector && now >= t0 + driftAfterMs) t.detectedAfterMin ??= (now - t0 - driftAfterMs) / 60_000;
    });
  }
  return { tallies, maxPsi, held, cycles };
}

const fmt = (xs: number[]) => FEATURE_NAMES.map((n, j) => `${n} ${xs[j]!.toFixed(2)}`).join(', ');
console.log(
  `${values.products!.split(',').length} products, rate ${values.rate}${keep < 1 ? `, ${keep} of the rows kept` : ''}, ${minutes} min per seed, window ${windowSize} rows / ${maxAgeMs / 60_000} min, a cycle every ${everyMs / 1000} s, dataset drift at share >= ${share}, drift ${values.drift ?? 'none'}${rules ? ` from minute ${values['drift-after-min']}` : ''}`,
);
for (const seed of values.seeds!.split(',').map(Number)) {
  const { tallies, maxPsi, held, cycles } = run(seed);
  console.log(`seed ${seed}: ${cycles} cycles`);
  DECISIONS.forEach(([name], k) => {
    const t = tallies[k]!;
    const first = rules ? `; first ${t.detectedAfterMin === undefined ? '-' : `${t.detectedAfterMin.toFixed(1)} min`} after the drift started` : '';
    console.log(`  ${name.padEnd(30)} dataset drift in ${String(t.dataset).padStart(4)} cycles, longest run ${((t.longest * everyMs) / 60_000).toFixed(1)} min; drifted features per cycle ${t.minDrifted}–${t.maxDrifted} of 9${first}`);
  });
  console.log(`  largest PSI held ${values['hold-s']} s: ${fmt(held)}`);
  console.log(`  largest PSI: ${fmt(maxPsi)}`);
}
