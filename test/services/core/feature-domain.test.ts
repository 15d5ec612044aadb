import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_DOMAIN, FLOAT32_MAX, featureValueProblem, firstOutOfDomain, magnitudeCap } from '../../../services/core/feature-domain';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow } from '../../../services/core/features';
import { readMetadata } from '../../../services/core/model/artifacts';
import { OnnxModel } from '../../../services/core/model/onnx-model';
import { ARTIFACTS_DIR } from '../../support/api';

const stats = readMetadata(ARTIFACTS_DIR).featureStats;

describe('feature domain', () => {
  it('caps every feature without a natural bound at the documented rule over the committed training statistics', () => {
    for (const name of FEATURE_NAMES) {
      const s = stats[name];
      const d = FEATURE_DOMAIN[name];
      const cap = magnitudeCap(Math.max(Math.abs(s.min), Math.abs(s.max)));
      // Natural bounds (spread, log volume) may be tighter than the rule, never looser.
      expect(d.max).toBeLessThanOrEqual(cap);
      if (d.min < 0) expect(d.min).toBe(-cap);
      if (!['spread_bps', 'log_volume_30s'].includes(name)) expect(d.max).toBe(cap);
      // Every training value lies far inside.
      expect(10 * Math.abs(s.max)).toBeLessThanOrEqual(d.max);
      expect(s.min).toBeGreaterThanOrEqual(d.min === 0 ? 0 : d.min / 10);
    }
  });

  it('holds the rows the shared feature function computes from ticks at the limits of float64 prices and sizes', () => {
    const w = new TickWindow();
    const ticks = [
      { price: 1e-300, bestBid: 1e-300, bestAsk: Number.MAX_VALUE / 2, lastSize: Number.MAX_VALUE / 4 },
      { price: Number.MAX_VALUE / 2, bestBid: 1, bestAsk: 1, lastSize: 0 },
      { price: 5e-324, bestBid: 1, bestAsk: 2, lastSize: Number.MAX_VALUE / 4 },
    ];
    ticks.forEach((t, i) => {
      w.push({ productId: 'BTC-USD', timeMs: i * 10, sequence: i, ...t });
      const row = w.features();
      expect({ i, row: Array.from(row), out: firstOutOfDomain(row) }).toMatchObject({ out: -1 });
    });
  });

  it('is the table in docs/api.md', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/api.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Feature domain'), doc.indexOf('### Errors'));
    const documented = new Map<string, { min: number; max: number }>();
    for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
      const [names, min, max] = line.split('|').slice(1, 4).map((c) => c.trim());
      for (const n of names!.match(/`[a-z0-9_]+`/g)!) documented.set(n.slice(1, -1), { min: Number(min), max: parseFloat(max!) });
    }
    expect([...documented.keys()].sort()).toEqual([...FEATURE_NAMES].sort());
    for (const n of FEATURE_NAMES) {
      expect(documented.get(n)!.min).toBe(FEATURE_DOMAIN[n].min);
      expect(documented.get(n)!.max).toBeCloseTo(FEATURE_DOMAIN[n].max, 2);
    }
  });

  it('names what is wrong with a value', () => {
    const j = (n: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(n);
    expect(featureValueProblem(j('rv_60s'), 0)).toBeUndefined();
    expect(featureValueProblem(j('ret_1s'), -0.5)).toBeUndefined();
    expect(featureValueProblem(j('rv_60s'), -1e-9)).toMatch(/^must be between 0 and 10000/);
    expect(featureValueProblem(j('spread_bps'), 20_001)).toMatch(/^must be between 0 and 20000/);
    expect(featureValueProblem(j('rv_30s'), 1e38)).toMatch(/^must be between 0 and 10000 .*got 1e\+38$/);
    expect(featureValueProblem(j('rv_30s'), 1e39)).toMatch(/^must be finite as a float32/);
    expect(featureValueProblem(j('ret_5s'), -Number.MAX_VALUE)).toMatch(/^must be finite as a float32/);
    expect(featureValueProblem(j('ret_5s'), Infinity)).toBe('must be a finite number');
    expect(featureValueProblem(j('ret_5s'), NaN)).toBe('must be a finite number');
    expect(FLOAT32_MAX).toBe(Math.fround(3.4028235e38));
  });

  it('keeps the served model finite on every corner of the domain', async () => {
    const model = await OnnxModel.load(ARTIFACTS_DIR, 'ml', { intraOp: 1, interOp: 1 });
    try {
      const corners = 2 ** FEATURE_COUNT;
      const input = new Float32Array(corners * FEATURE_COUNT);
      for (let c = 0; c < corners; c++) {
        FEATURE_NAMES.forEach((n, j) => (input[c * FEATURE_COUNT + j] = (c >> j) & 1 ? FEATURE_DOMAIN[n].max : FEATURE_DOMAIN[n].min));
      }
      const out = await model.predict(input, corners);
      expect(Array.from(out).filter((p) => !Number.isFinite(p))).toEqual([]);
    } finally {
      await model.dispose();
    }
  });
});
