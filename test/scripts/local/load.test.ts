import { Registry } from 'prom-client';
import { marketRows } from '../../../scripts/local/load';
import { createDriftMonitor } from '../../../services/core/drift/monitor';
import { parseReferenceProfile } from '../../../services/core/drift/profile';
import { FEATURE_NAMES } from '../../../services/core/features';
import { tryReadMetadata } from '../../../services/core/model/artifacts';
import { API_DEFAULTS } from '../../../services/api/config';

test('the load sends about --rate rows a second of the simulated market, and an hour of them does not drift from the training data', async () => {
  const start = Date.UTC(2026, 3, 1);
  const market = marketRows(11, 4, start);
  let clock = start;
  const monitor = createDriftMonitor({
    profile: parseReferenceProfile(tryReadMetadata(API_DEFAULTS.modelDir)!.referenceProfile),
    featureNames: FEATURE_NAMES,
    registry: new Registry(),
    prefix: 'volwatch_',
    windowSize: API_DEFAULTS.driftWindowSize,
    windowMaxAgeMs: API_DEFAULTS.driftWindowMaxAgeMs,
    now: () => clock,
  });
  let rows = 0;
  const verdicts: number[] = [];
  for (let minute = 1; minute <= 120; minute++) {
    clock = start + minute * 60_000;
    for (const row of market.rowsUntil(clock)) {
      monitor.observe(FEATURE_NAMES.map((f) => row[f]));
      rows++;
    }
    if (minute >= 60 && minute % 15 === 0) verdicts.push((await monitor.computeNow()).dataset.share!);
  }
  expect(rows / 7200).toBeGreaterThan(3.2);
  expect(rows / 7200).toBeLessThan(4.8);
  // The API's default decision (PSI >= 0.2 per feature, dataset drift at a share of 0.5).
  expect(verdicts).toHaveLength(5);
  for (const share of verdicts) expect(share).toBeLessThan(0.5);
});

test('the load samples a wider market (six products) at the same --rate: the share of ticks it picks follows the product count', () => {
  const start = Date.UTC(2026, 3, 1);
  const products = ['BTC-USD', 'BTC-EUR', 'ETH-USD', 'ETH-EUR', 'SOL-USD', 'SOL-EUR'];
  const rows = marketRows(3, 4, start, products).rowsUntil(start + 30 * 60_000);
  expect(rows.length / 1800).toBeGreaterThan(3.2);
  expect(rows.length / 1800).toBeLessThan(4.8);
});
