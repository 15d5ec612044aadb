import { spawnSync } from 'node:child_process';
import { API_METRICS, HTTP_DURATION_BUCKETS, LATENCY_SLO_SECONDS } from '../../../services/api/metrics';
import { driftMetricNames } from '../../../services/core/drift/monitor';
import { type RunningApi, postJson, sample, scrape, seriesCount, startApi } from '../../support/api';
import { referenceOutputs, validRow } from '../../support/fixtures';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../../support/monitoring-tools';

// Prometheus 3.14's promtool (scripts/monitoring-tools.sh), not Debian's 2.42.
let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

let srv: RunningApi;
beforeAll(async () => {
  srv = await startApi();
});
afterAll(() => srv.api.stop());

describe('metrics endpoint', () => {
  it('serves the registry content type on the metrics port only', async () => {
    const res = await fetch(srv.metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await fetch(`${srv.url}/metrics`)).status).toBe(404);
  });

  it('starts the /predict 200 and 500 series at zero, so the SLO error ratio is 0 before the first error, not absent', async () => {
    const text = await scrape(srv.metricsUrl);
    for (const status of ['200', '500']) {
      expect(sample(text, `${API_METRICS.httpRequests}{method="POST",route="/predict",status="${status}"}`)).toBe(0);
      expect(sample(text, `${API_METRICS.httpDuration}_count{method="POST",route="/predict",status="${status}"}`)).toBe(0);
      expect(sample(text, `${API_METRICS.httpDuration}_bucket{le="0.1",method="POST",route="/predict",status="${status}"}`)).toBe(0);
    }
  });

  it('passes promtool check metrics on a live scrape', async () => {
    await postJson(`${srv.url}/predict`, { features: validRow() });
    await postJson(`${srv.url}/predict`, '{oops');
    await fetch(`${srv.url}/does-not-exist`);
    const text = await scrape(srv.metricsUrl);
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('counts requests by route template, errors by type, and predictions by variant', async () => {
    const before = await scrape(srv.metricsUrl);
    const predicted = (t: string) => sample(t, `${API_METRICS.predictions}{variant="ml"}`) ?? 0;
    const ok = (t: string) => sample(t, `${API_METRICS.httpRequests}{method="POST",route="/predict",status="200"}`) ?? 0;
    const invalid = (t: string) => sample(t, `${API_METRICS.errors}{route="/predict",type="validation"}`) ?? 0;
    await postJson(`${srv.url}/predict`, { instances: [validRow(), validRow(), validRow()] });
    await postJson(`${srv.url}/predict`, { features: {} });
    const after = await scrape(srv.metricsUrl);
    expect(predicted(after) - predicted(before)).toBe(3);
    expect(ok(after) - ok(before)).toBe(1);
    expect(invalid(after) - invalid(before)).toBe(1);
    expect(sample(after, `${API_METRICS.modelInfo}{name="volwatch-spike-logreg",version="1.0.0",variant="ml"}`)).toBe(1);
    expect(sample(after, API_METRICS.ready)).toBe(1);
    expect(sample(after, API_METRICS.fallback)).toBe(0);
    expect(after).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(after).toMatch(/^process_cpu_seconds_total /m);
  });

  it('has latency buckets at both SLO thresholds', () => {
    expect(HTTP_DURATION_BUCKETS).toEqual(expect.arrayContaining([LATENCY_SLO_SECONDS.fast, LATENCY_SLO_SECONDS.acceptable]));
  });

  it('counts out-of-distribution feature values per feature and reason', async () => {
    const before = await scrape(srv.metricsUrl);
    const series = `${API_METRICS.outOfDistribution}{feature="spread_bps",reason="range"}`;
    // 1000 bps: far outside training (max ~10 bps) but a real spread, so it is scored and counted.
    expect((await postJson(`${srv.url}/predict`, { features: { ...validRow(), spread_bps: 1000 } })).status).toBe(200);
    const after = await scrape(srv.metricsUrl);
    expect(sample(after, series)! - sample(before, series)!).toBe(1);
    expect(sample(after, `${API_METRICS.outOfDistribution}{feature="spread_bps",reason="zscore"}`)).toBeGreaterThanOrEqual(1);
  });

  it('adds no series for 10,000 random unmatched paths', async () => {
    await fetch(`${srv.url}/warm-up-unmatched`);
    const before = await scrape(srv.metricsUrl);
    const families = [API_METRICS.httpRequests, `${API_METRICS.httpDuration}_bucket`, API_METRICS.errors];
    const counts = families.map((f) => seriesCount(before, f));
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => fetch(`${srv.url}/x/${batch}-${i}/${Math.random().toString(36).slice(2)}?id=${i}`).then((r) => r.arrayBuffer())),
      );
    }
    const after = await scrape(srv.metricsUrl);
    expect(families.map((f) => seriesCount(after, f))).toEqual(counts);
    expect(sample(after, `${API_METRICS.httpRequests}{method="GET",route="unmatched",status="404"}`)! - sample(before, `${API_METRICS.httpRequests}{method="GET",route="unmatched",status="404"}`)!).toBe(10_000);
  }, 60_000);
});

describe('metrics disabled', () => {
  it('still serves predictions and exposes an empty registry', async () => {
    const off = await startApi({ METRICS_ENABLED: 'false', INFERENCE_TIMEOUT_MS: '10000' });
    try {
      expect((await postJson(`${off.url}/predict`, { features: validRow() })).status).toBe(200);
      expect((await scrape(off.metricsUrl)).trim()).toBe('');
    } finally {
      await off.api.stop();
    }
  });
});

describe('online drift', () => {
  const DRIFT = driftMetricNames('volwatch_');

  /** Posts the reference rows `copies` times and returns the scrape once the window holds them all (and, if asked, a cycle finished). */
  async function fillWindow(api: RunningApi, copies: number, opts: { computed?: boolean } = {}): Promise<{ text: string; rows: number }> {
    const ref = referenceOutputs();
    const rows = copies * ref.rows.length;
    const names = Object.keys(validRow());
    const instances = ref.rows.map((r: number[]) => Object.fromEntries(names.map((n, j) => [n, r[j]])));
    for (let i = 0; i < copies; i++) expect((await postJson(`${api.url}/predict`, { instances })).status).toBe(200);
    // The gauges are written feature by feature, one slice per event-loop turn: the window size
    // first, the timestamp last.
    let text = '';
    const done = () => sample(text, `${DRIFT.windowSize}{feature="log_volume_30s"}`) === rows && (!opts.computed || sample(text, DRIFT.lastComputed)! > 0);
    for (let i = 0; i < 100 && !done(); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await scrape(api.metricsUrl);
    }
    return { text, rows };
  }

  it('scores recent inputs against the model reference profile and exports the gauges', async () => {
    // A cycle every second: the default hour-long window is scored every 30 s or 9000 inputs.
    // A window of exactly the inputs below: full, so scored at once (no warm-up).
    const api = await startApi({ DRIFT_COMPUTE_INTERVAL_MS: '1000', DRIFT_WINDOW_SIZE: String(20 * referenceOutputs().rows.length) });
    try {
      const { text, rows } = await fillWindow(api, 20, { computed: true });
      expect(sample(text, DRIFT.referenceAvailable)).toBe(1);
      // The gauge is set by the compute cycle, once every input above is in the window.
      expect(sample(text, `${DRIFT.windowSize}{feature="rv_60s"}`)).toBe(rows);
      expect(text).toMatch(new RegExp(`^${DRIFT.score}\\{feature="rv_60s",method="psi"\\} [0-9.e-]+$`, 'm'));
      expect(text).toMatch(new RegExp(`^${DRIFT.score}\\{feature="rv_60s",method="wasserstein"\\} [0-9.e-]+$`, 'm'));
      expect(text).toMatch(new RegExp(`^# HELP ${DRIFT.detected} 1 when the feature drifted: PSI >= 0.2$`, 'm'));
      expect(text).toMatch(new RegExp(`^${DRIFT.share} [0-9.]+$`, 'm'));
      const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
    } finally {
      await api.api.stop();
    }
  });

  it('does not score a window that is neither full nor 45 minutes old (warming up after a start): no scores, none evaluated, its fill shown', async () => {
    const api = await startApi({ DRIFT_COMPUTE_INTERVAL_MS: '1000' });
    try {
      const { text, rows } = await fillWindow(api, 5);
      expect(sample(text, `${DRIFT.windowSize}{feature="rv_60s"}`)).toBe(rows);
      expect(sample(text, DRIFT.evaluated)).toBe(0);
      expect(sample(text, DRIFT.dataset)).toBe(0);
      expect(text).not.toMatch(new RegExp(`^${DRIFT.score}\\{`, 'm'));
    } finally {
      await api.api.stop();
    }
  });
});

