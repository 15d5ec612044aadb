import { ConfigError, EnvReader } from '../../../../services/core/config';
import { driftDecision, readModelServingConfig } from '../../../../services/core/model/serving-config';
import { API_DEFAULTS } from '../../../../services/api/config';

function read(env: Record<string, string>) {
  const r = new EnvReader(env);
  const c = readModelServingConfig(r, API_DEFAULTS);
  r.finish();
  return c;
}

function problems(env: Record<string, string>): string[] {
  try {
    read(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('the online drift decision (DRIFT_STATTEST, DRIFT_STATTEST_THRESHOLD, DRIFT_SHARE)', () => {
  test('defaults: PSI >= 0.2 per feature, dataset drift at a share of 0.5, a cycle every 30 s', () => {
    const c = read({});
    expect(c).toMatchObject({ driftStattest: 'psi', driftStattestThreshold: 0.2, driftShare: 0.5, driftComputeIntervalMs: 30_000 });
    expect(driftDecision(c)).toEqual({ method: 'psi', thresholds: { psi: 0.2, datasetShare: 0.5 } });
  });

  test.each([
    [{ DRIFT_STATTEST: 'psi', DRIFT_STATTEST_THRESHOLD: '8', DRIFT_SHARE: '0.3' }, { method: 'psi', thresholds: { psi: 8, datasetShare: 0.3 } }],
    [{ DRIFT_STATTEST: 'ks' }, { method: 'ks', thresholds: { ksPValue: 0.05, datasetShare: 0.5 } }],
    [{ DRIFT_STATTEST: 'ks', DRIFT_STATTEST_THRESHOLD: '1e-6' }, { method: 'ks', thresholds: { ksPValue: 1e-6, datasetShare: 0.5 } }],
    [{ DRIFT_STATTEST: 'wasserstein', DRIFT_STATTEST_THRESHOLD: '.5', DRIFT_SHARE: '1' }, { method: 'wasserstein', thresholds: { wasserstein: 0.5, datasetShare: 1 } }],
    [{ DRIFT_STATTEST: 'auto' }, { method: 'auto', thresholds: { datasetShare: 0.5 } }],
  ])('%j gives the monitor %j', (env, decision) => {
    expect(driftDecision(read(env))).toEqual(decision);
  });

  test('DRIFT_COMPUTE_INTERVAL_MS sets how often the windows are scored', () => {
    expect(read({ DRIFT_COMPUTE_INTERVAL_MS: '2000' }).driftComputeIntervalMs).toBe(2000);
  });

  test('every invalid setting is reported at once, each with what is expected', () => {
    expect(problems({ DRIFT_STATTEST: 'chisquare', DRIFT_SHARE: '0', DRIFT_COMPUTE_INTERVAL_MS: '10' })).toEqual([
      'DRIFT_STATTEST="chisquare": expected one of psi, ks, wasserstein, auto',
      'DRIFT_SHARE="0": expected a share of features above 0 and at most 1',
      'DRIFT_COMPUTE_INTERVAL_MS="10": expected an integer from 1000 to 3600000',
    ]);
    expect(problems({ DRIFT_STATTEST: 'ks', DRIFT_STATTEST_THRESHOLD: '1.5' })).toEqual(['DRIFT_STATTEST_THRESHOLD="1.5": expected a p-value between 0 and 1 (exclusive) for DRIFT_STATTEST=ks']);
    expect(problems({ DRIFT_STATTEST_THRESHOLD: '-0.2' })).toEqual(['DRIFT_STATTEST_THRESHOLD="-0.2": expected a PSI value > 0 (0.1 moderate, 0.2 major shift) for DRIFT_STATTEST=psi']);
    expect(problems({ DRIFT_STATTEST_THRESHOLD: 'NaN', DRIFT_SHARE: '1.5' })).toHaveLength(2);
    expect(problems({ DRIFT_STATTEST: 'auto', DRIFT_STATTEST_THRESHOLD: '0.1' })).toEqual([expect.stringContaining('DRIFT_STATTEST_THRESHOLD needs DRIFT_STATTEST psi, ks or wasserstein')]);
  });
});
