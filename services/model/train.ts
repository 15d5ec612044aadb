import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildReferenceProfile } from '../core/drift/profile';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow } from '../core/features';
import { DEFAULT_PRODUCTS, TickSimulator } from '../core/simulator';
import { binIndex, meanStd, quantileSorted, sig } from '../core/stats';
import type { BaselineArtifact, FeatureStats, ModelMetadata, ReferenceOutputs } from '../core/model/artifacts';
import { ARTIFACT_FILES } from '../core/model/artifacts';
import { auc, bestF1Threshold, fitLogistic, metricsAt, sigmoid } from './logistic';
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, encodeLogisticModel } from './onnx-export';

export interface TrainOptions {
  readonly seed: number;
  /** Simulated event time per product. */
  readonly hours: number;
  /** Keep every k-th tick of a product as a training row (neighbouring rows are near-duplicates). */
  readonly sampleEvery: number;
  /** Label horizon: "a volatility spike within the next horizonSec seconds". */
  readonly horizonSec: number;
  /** A spike is future realized volatility above this quantile of the 60 s realized volatility. */
  readonly spikeQuantile: number;
  /** Share of each product's timeline (the latest part) held out for evaluation. */
  readonly holdoutShare: number;
  readonly l2: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 20261121,
  hours: 4,
  sampleEvery: 4,
  horizonSec: 60,
  spikeQuantile: 0.9,
  holdoutShare: 0.25,
  l2: 1e-3,
};

export const MODEL_NAME = 'volwatch-spike-logreg';
export const BASELINE_NAME = 'volwatch-spike-baseline';
export const MODEL_VERSION = '1.0.0';
const RV_60S = FEATURE_NAMES.indexOf('rv_60s');

interface Row {
  readonly x: Float64Array;
  readonly futureRv: number;
  readonly holdout: boolean;
}

/** Simulates ticks, computes features with the shared TickWindow, and attaches the look-ahead target. */
export function generateRows(opts: TrainOptions): Row[] {
  const startMs = Date.UTC(2026, 0, 1);
  const endMs = startMs + opts.hours * 3_600_000;
  const sim = new TickSimulator({ seed: opts.seed, startMs });
  const perProduct = new Map<string, { window: TickWindow; t: number[]; csq: number[]; lastLogP: number; sampled: { i: number; x: Float64Array }[] }>();
  for (const p of DEFAULT_PRODUCTS) {
    perProduct.set(p.productId, { window: new TickWindow(), t: [], csq: [], lastLogP: NaN, sampled: [] });
  }
  for (;;) {
    const tick = sim.next();
    if (tick.timeMs >= endMs) break;
    const s = perProduct.get(tick.productId)!;
    s.window.push(tick);
    const lp = Math.log(tick.price);
    const r = Number.isNaN(s.lastLogP) ? 0 : lp - s.lastLogP;
    s.lastLogP = lp;
    s.csq.push((s.csq.length ? s.csq[s.csq.length - 1]! : 0) + r * r);
    s.t.push(tick.timeMs);
    const i = s.t.length - 1;
    if (i % opts.sampleEvery === 0 && tick.timeMs >= startMs + 60_000) {
      s.sampled.push({ i, x: s.window.features(new Float64Array(FEATURE_COUNT)) });
    }
  }
  const holdoutFrom = endMs - opts.holdoutShare * (endMs - startMs);
  const rows: Row[] = [];
  for (const s of perProduct.values()) {
    for (const { i, x } of s.sampled) {
      const horizonEnd = s.t[i]! + opts.horizonSec * 1000;
      if (horizonEnd > endMs) continue;
      let lo = i;
      let hi = s.t.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (s.t[mid]! <= horizonEnd) lo = mid;
        else hi = mid - 1;
      }
      // Rows whose horizon crosses into the holdout period would leak it into training.
      const holdout = s.t[i]! >= holdoutFrom;
      if (!holdout && horizonEnd > holdoutFrom) continue;
      rows.push({ x, futureRv: Math.sqrt(s.csq[lo]! - s.csq[i]!), holdout });
    }
  }
  return rows;
}

function featureStats(rows: readonly Float64Array[], j: number): FeatureStats {
  const v = Float64Array.from(rows, (r) => r[j]!).sort();
  const { mean, std } = meanStd(v);
  const binEdges = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => sig(quantileSorted(v, q)));
  const counts = new Array<number>(binEdges.length + 1).fill(0);
  for (const x of v) counts[binIndex(binEdges, x)]!++;
  return {
    count: v.length,
    min: sig(v[0]!),
    max: sig(v[v.length - 1]!),
    mean: sig(mean),
    std: sig(std),
    binEdges,
    binProportions: counts.map((c) => sig(c / v.length, 6)),
  };
}

export interface TrainedArtifacts {
  readonly onnx: Uint8Array;
  readonly metadata: ModelMetadata;
  readonly baseline: BaselineArtifact;
  readonly reference: ReferenceOutputs;
}

export function train(opts: TrainOptions = DEFAULT_TRAIN_OPTIONS): TrainedArtifacts {
  const rows = generateRows(opts);
  const trainRows = rows.filter((r) => !r.holdout);
  const holdRows = rows.filter((r) => r.holdout);
  const trainX = trainRows.map((r) => r.x);
  const rvSorted = Float64Array.from(trainX, (x) => x[RV_60S]!).sort();
  const spikeLevel = quantileSorted(rvSorted, opts.spikeQuantile);
  const label = (r: Row): 0 | 1 => (r.futureRv > spikeLevel ? 1 : 0);
  const yTrain = Uint8Array.from(trainRows, label);
  const yHold = Uint8Array.from(holdRows, label);

  const stats = FEATURE_NAMES.map((_, j) => featureStats(trainX, j));
  const moments = FEATURE_NAMES.map((_, j) => meanStd(Float64Array.from(trainX, (x) => x[j]!)));
  // Parameters are rounded to float32 first: the ONNX graph stores float32, and the
  // reference outputs below must describe exactly the model that is served.
  const mean = moments.map((m) => Math.fround(m.mean));
  const invStd = moments.map((m) => Math.fround(m.std > 0 ? 1 / m.std : 1));
  const standardize = (x: Float64Array): Float64Array => Float64Array.from(x, (v, j) => (Math.fround(v) - mean[j]!) * invStd[j]!);
  const fit = fitLogistic(trainX.map(standardize), yTrain, opts.l2);
  const weights = fit.weights.map(Math.fround);
  const bias = Math.fround(fit.bias);
  const predict = (x: Float64Array): number => {
    const z = standardize(x);
    let logit = bias;
    for (let j = 0; j < FEATURE_COUNT; j++) logit += z[j]! * weights[j]!;
    return sigmoid(logit);
  };
  const pTrain = trainX.map(predict);
  const pHold = holdRows.map((r) => predict(r.x));
  const chosen = bestF1Threshold(pTrain, yTrain);
  const hold = metricsAt(pHold, yHold, chosen.threshold);

  // Baseline: spike rate per decile of 60 s realized volatility, learned on the same rows.
  const rvEdges = stats[RV_60S]!.binEdges;
  const pos = new Array<number>(rvEdges.length + 1).fill(0);
  const tot = new Array<number>(rvEdges.length + 1).fill(0);
  trainX.forEach((x, i) => {
    const b = binIndex(rvEdges, x[RV_60S]!);
    tot[b]!++;
    pos[b]! += yTrain[i]!;
  });
  const spikeRates = tot.map((t, b) => sig((pos[b]! + 1) / (t + 2), 6)); // Laplace-smoothed
  const basePredict = (x: Float64Array): number => spikeRates[binIndex(rvEdges, x[RV_60S]!)]!;
  const baseTrain = trainX.map(basePredict);
  const baseChosen = bestF1Threshold(baseTrain, yTrain);
  const baseHoldScores = holdRows.map((r) => basePredict(r.x));
  const baseHold = metricsAt(baseHoldScores, yHold, baseChosen.threshold);

  const onnxBytes = encodeLogisticModel({
    featureNames: FEATURE_NAMES,
    mean,
    invStd,
    weights,
    bias,
    modelVersion: 1,
    docString: `${MODEL_NAME} ${MODEL_VERSION}: P(volatility spike within ${opts.horizonSec}s)`,
  });
  const sha256 = createHash('sha256').update(onnxBytes).digest('hex');
  const round = (m: { threshold: number; precision: number; recall: number; f1: number }) => ({
    threshold: m.threshold,
    precision: sig(m.precision, 6),
    recall: sig(m.recall, 6),
    f1: sig(m.f1, 6),
  });
  const baseRate = (y: Uint8Array): number => sig(y.reduce((a, b) => a + b, 0) / y.length, 6);

  const metadata: ModelMetadata = {
    name: MODEL_NAME,
    version: MODEL_VERSION,
    variant: 'ml',
    task: `probability that realized volatility over the next ${opts.horizonSec}s exceeds the training p${Math.round(opts.spikeQuantile * 100)} of 60s realized volatility`,
    features: [...FEATURE_NAMES],
    decisionThreshold: chosen.threshold,
    onnx: { file: ARTIFACT_FILES.onnx, sha256, input: ONNX_INPUT, output: ONNX_OUTPUT, opset: ONNX_OPSET },
    training: {
      seed: opts.seed,
      simulatedHoursPerProduct: opts.hours,
      products: DEFAULT_PRODUCTS.map((p) => p.productId),
      horizonSec: opts.horizonSec,
      spikeRealizedVol: sig(spikeLevel),
      rows: trainRows.length,
      holdoutRows: holdRows.length,
      l2: opts.l2,
      iterations: fit.iterations,
    },
    metrics: {
      train: { auc: sig(auc(pTrain, yTrain), 6), baseRate: baseRate(yTrain), ...round(chosen) },
      holdout: { auc: sig(auc(pHold, yHold), 6), baseRate: baseRate(yHold), ...round(hold) },
    },
    featureStats: Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, stats[j]!])) as ModelMetadata['featureStats'],
    referenceProfile: buildReferenceProfile(trainX, FEATURE_NAMES, { seed: opts.seed }),
  };
  const baseline: BaselineArtifact = {
    name: BASELINE_NAME,
    version: MODEL_VERSION,
    variant: 'baseline',
    rule: 'spike rate of the training rows in the same decile of rv_60s (Laplace-smoothed)',
    feature: 'rv_60s',
    binEdges: rvEdges,
    spikeRates,
    decisionThreshold: baseChosen.threshold,
    metrics: { holdout: { auc: sig(auc(baseHoldScores, yHold), 6), ...round(baseHold) } },
  };
  // Reference outputs: a fixed slice of holdout rows scored in float64 by this file,
  // independently of onnxruntime. Tests and the loader compare the served model to them.
  const step = Math.max(1, Math.floor(holdRows.length / 64));
  const refRows = holdRows.filter((_, i) => i % step === 0).slice(0, 64);
  const reference: ReferenceOutputs = {
    model: `${MODEL_NAME}@${MODEL_VERSION}`,
    tolerance: 1e-5,
    rows: refRows.map((r) => Array.from(r.x)),
    probabilities: refRows.map((r) => predict(r.x)),
    baselineProbabilities: refRows.map((r) => basePredict(r.x)),
  };
  return { onnx: onnxBytes, metadata, baseline, reference };
}

export function writeArtifacts(a: TrainedArtifacts, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ARTIFACT_FILES.onnx), a.onnx);
  writeFileSync(join(dir, ARTIFACT_FILES.metadata), JSON.stringify(a.metadata, null, 2) + '\n');
  writeFileSync(join(dir, ARTIFACT_FILES.baseline), JSON.stringify(a.baseline, null, 2) + '\n');
  writeFileSync(join(dir, ARTIFACT_FILES.reference), JSON.stringify(a.reference) + '\n');
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? 'services/model/artifacts');
  const started = Date.now();
  const artifacts = train();
  writeArtifacts(artifacts, out);
  const m = artifacts.metadata.metrics;
  process.stdout.write(
    `wrote ${out} in ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
      `holdout AUC ${m.holdout.auc} (baseline ${artifacts.baseline.metrics.holdout.auc}), ` +
      `precision ${m.holdout.precision} recall ${m.holdout.recall} at threshold ${artifacts.metadata.decisionThreshold}\n`,
  );
}
