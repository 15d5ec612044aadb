import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auc, fitLogistic } from '../../../services/model/logistic';
import { train } from '../../../services/model/train';
import { ARTIFACTS_DIR } from '../../support/api';

describe('training', () => {
  it('reproduces the committed artifacts bit for bit from the seed', () => {
    const a = train();
    expect(Buffer.from(a.onnx).equals(readFileSync(join(ARTIFACTS_DIR, 'model.onnx')))).toBe(true);
    expect(JSON.stringify(a.metadata, null, 2) + '\n').toBe(readFileSync(join(ARTIFACTS_DIR, 'metadata.json'), 'utf8'));
    expect(JSON.stringify(a.baseline, null, 2) + '\n').toBe(readFileSync(join(ARTIFACTS_DIR, 'baseline.json'), 'utf8'));
    expect(JSON.stringify(a.reference) + '\n').toBe(readFileSync(join(ARTIFACTS_DIR, 'reference-outputs.json'), 'utf8'));
  }, 60_000);

  it('keeps the artifacts small', () => {
    const total = ['model.onnx', 'metadata.json', 'baseline.json', 'reference-outputs.json'].reduce((n, f) => n + readFileSync(join(ARTIFACTS_DIR, f)).length, 0);
    expect(total).toBeLessThan(1024 * 1024);
  });

  it('learns a model that beats chance on the holdout and records its metrics', () => {
    const meta = JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'metadata.json'), 'utf8'));
    expect(meta.metrics.holdout.auc).toBeGreaterThan(0.7);
    expect(meta.metrics.holdout.precision).toBeGreaterThan(meta.metrics.holdout.baseRate);
    for (const s of Object.values(meta.featureStats) as { binProportions: number[]; binEdges: number[] }[]) {
      expect(s.binProportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(s.binProportions).toHaveLength(s.binEdges.length + 1);
    }
  });
});

describe('logistic regression', () => {
  it('recovers known coefficients from separable-ish synthetic data', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const x: Float64Array[] = [];
    const y: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const a = rand() * 4 - 2;
      const b = rand() * 4 - 2;
      x.push(Float64Array.of(a, b));
      y.push(rand() < 1 / (1 + Math.exp(-(2 * a - 1 * b + 0.5))) ? 1 : 0);
    }
    const fit = fitLogistic(x, Uint8Array.from(y), 0);
    expect(fit.weights[0]).toBeCloseTo(2, 0);
    expect(fit.weights[1]).toBeCloseTo(-1, 0);
    expect(fit.bias).toBeCloseTo(0.5, 0);
  });

  it('computes AUC with ties as the Mann-Whitney statistic', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
  });
});
