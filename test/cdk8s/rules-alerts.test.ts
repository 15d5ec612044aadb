import { API_METRICS } from '../../services/api/metrics';
import { CONSUMER_METRICS } from '../../services/consumer/metrics';
import { API_DRIFT_METRICS, CONSUMER_DRIFT_METRICS, CONSUMER_LAG_RECORD } from '../../cdk8s/alerts';
import { REFERENCE_TARGETS } from '../../cdk8s/slo';
import type { Rule } from '../../cdk8s/service-monitoring';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { allRules, counter, promtoolTest, renderedAnnotations, series, steps, synthesizedRuleGroups } from './promtool';

// Every symptom alert: silent just below its boundary, firing at it (after its `for`), with
// exact labels and annotations. Prometheus 3.14's promtool; 1-minute samples, 30 s evaluations.
const groups = synthesizedRuleGroups();
const ruleGroups = [...groups.values()].flat();
const ns = REFERENCE_TARGETS.namespace;
const api = { job: REFERENCE_TARGETS.api, namespace: ns };
const consumer = { job: REFERENCE_TARGETS.consumer, namespace: ns };

let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

/** The rule of `alert` that reads `job` (model alerts exist once per service). */
function rule(alert: string, job?: string): Rule {
  const found = allRules(groups.values()).filter((r) => r.alert === alert && (job === undefined || String(r.expr).includes(`job="${job}"`)));
  if (found.length !== 1) throw new Error(`expected one ${alert} rule${job ? ` for ${job}` : ''}, found ${found.length}`);
  return found[0]!;
}

function fired(alert: string, job: string | undefined, labels: Record<string, string>, values: Record<string, string> = {}) {
  const r = rule(alert, job);
  return { exp_labels: { ...(r.labels as Record<string, string>), ...labels }, exp_annotations: renderedAnnotations(r, values) };
}

function run(tests: object[]): void {
  const r = promtoolTest(promtool, ruleGroups, tests);
  expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
}

describe('API alerts', () => {
  const predict = (status: string) => ({ ...api, method: 'POST', route: '/predict', status });

  test('VolwatchApiDown fires after 5 minutes without a healthy target, not while one pod is up', () => {
    const labels = { job: api.job, namespace: ns };
    run([
      {
        name: 'one of two pods down',
        interval: '1m',
        input_series: [series('up', { ...api, instance: 'a' }, '1x5 0x10'), series('up', { ...api, instance: 'b' }, '1x5 0x2 1x8')],
        alert_rule_test: [8, 10, 15].map((m) => ({ eval_time: `${m}m`, alertname: 'VolwatchApiDown', exp_alerts: [] })),
      },
      {
        name: 'all down',
        interval: '1m',
        input_series: [series('up', { ...api, instance: 'a' }, '1x2 0x10')],
        alert_rule_test: [
          { eval_time: '7m30s', alertname: 'VolwatchApiDown', exp_alerts: [] },
          { eval_time: '8m', alertname: 'VolwatchApiDown', exp_alerts: [fired('VolwatchApiDown', undefined, labels)] },
        ],
      },
    ]);
  });

  test('VolwatchApiHighErrorRate: 0.9% of /predict is quiet, 1.1% fires after 5 minutes; probe errors do not count', () => {
    const inputs = (bad: number) => [
      series(API_METRICS.httpRequests, predict('200'), counter(steps(1000 - bad, 15))),
      series(API_METRICS.httpRequests, predict('500'), counter(steps(bad, 15))),
      series(API_METRICS.httpRequests, { ...api, method: 'GET', route: '/ready', status: '503' }, counter(steps(500, 15))),
    ];
    run([
      { name: 'below', interval: '1m', input_series: inputs(9), alert_rule_test: [{ eval_time: '12m', alertname: 'VolwatchApiHighErrorRate', exp_alerts: [] }] },
      {
        name: 'at',
        interval: '1m',
        input_series: inputs(11),
        alert_rule_test: [
          { eval_time: '5m30s', alertname: 'VolwatchApiHighErrorRate', exp_alerts: [] },
          { eval_time: '6m', alertname: 'VolwatchApiHighErrorRate', exp_alerts: [fired('VolwatchApiHighErrorRate', undefined, api, { '$value | humanizePercentage': '1.1%' })] },
        ],
      },
    ]);
  });

  test('VolwatchApiHighLatency: p95 of /predict just under 800 ms is quiet, 833 ms fires after 10 minutes', () => {
    // Per minute: 100 requests; `within08` of them at most 0.8 s, all within 1 s.
    const inputs = (within08: number) => {
      const l = (le: string) => ({ ...predict('200'), le });
      return [
        series(`${API_METRICS.httpDuration}_bucket`, l('0.5'), counter(steps(50, 15))),
        series(`${API_METRICS.httpDuration}_bucket`, l('0.8'), counter(steps(within08, 15))),
        series(`${API_METRICS.httpDuration}_bucket`, l('1.0'), counter(steps(100, 15))),
        series(`${API_METRICS.httpDuration}_bucket`, l('+Inf'), counter(steps(100, 15))),
        // A slow probe route must not count.
        series(`${API_METRICS.httpDuration}_bucket`, { ...api, method: 'GET', route: '/health', status: '200', le: '+Inf' }, counter(steps(1000, 15))),
      ];
    };
    run([
      // rank 95 of 100 in (0.5, 0.8]: p95 = 0.5 + 0.3 * 45/46 = 0.793 s.
      { name: 'below', interval: '1m', input_series: inputs(96), alert_rule_test: [{ eval_time: '14m', alertname: 'VolwatchApiHighLatency', exp_alerts: [] }] },
      // rank 95 in (0.8, 1]: p95 = 0.8 + 0.2 * 1/6 = 0.8333 s.
      {
        name: 'at',
        interval: '1m',
        input_series: inputs(94),
        alert_rule_test: [
          { eval_time: '10m30s', alertname: 'VolwatchApiHighLatency', exp_alerts: [] },
          { eval_time: '11m', alertname: 'VolwatchApiHighLatency', exp_alerts: [fired('VolwatchApiHighLatency', undefined, api, { '$value | humanizeDuration': '833.3ms' })] },
        ],
      },
    ]);
  });

  test('VolwatchApiLowTraffic: 11 req/s is quiet, 9 req/s fires after 30 minutes (info)', () => {
    const inputs = (perSecond: number) => [series(API_METRICS.httpRequests, predict('200'), counter(steps(perSecond * 60, 40)))];
    run([
      { name: 'above the floor', interval: '1m', input_series: inputs(11), alert_rule_test: [{ eval_time: '38m', alertname: 'VolwatchApiLowTraffic', exp_alerts: [] }] },
      {
        name: 'below the floor',
        interval: '1m',
        input_series: inputs(9),
        alert_rule_test: [
          { eval_time: '30m30s', alertname: 'VolwatchApiLowTraffic', exp_alerts: [] },
          { eval_time: '31m', alertname: 'VolwatchApiLowTraffic', exp_alerts: [fired('VolwatchApiLowTraffic', undefined, api, { '$value | printf "%.2f"': '9.00' })] },
        ],
      },
    ]);
  });

  test('VolwatchModelLoadFailures: a failed load fires at once and clears 15 minutes later; loads that succeed are quiet', () => {
    run([
      {
        name: 'one failure at minute 3',
        interval: '1m',
        input_series: [
          series(API_METRICS.modelLoadFailures, { ...api, instance: 'a', variant: 'ml' }, '0 0 0 1x25'),
          series(API_METRICS.modelLoadFailures, { ...api, instance: 'a', variant: 'baseline' }, '0x28'),
        ],
        alert_rule_test: [
          { eval_time: '2m30s', alertname: 'VolwatchModelLoadFailures', exp_alerts: [] },
          { eval_time: '3m', alertname: 'VolwatchModelLoadFailures', exp_alerts: [fired('VolwatchModelLoadFailures', undefined, { ...api, variant: 'ml' }, { '$labels.variant': 'ml', '$value | printf "%.0f"': '1' })] },
          { eval_time: '18m', alertname: 'VolwatchModelLoadFailures', exp_alerts: [] },
        ],
      },
    ]);
  });
});

describe.each([
  ['API', api, API_METRICS.modelInfo, API_METRICS.fallback, API_DRIFT_METRICS],
  ['consumer', consumer, CONSUMER_METRICS.modelInfo, CONSUMER_METRICS.fallback, CONSUMER_DRIFT_METRICS],
])('%s model and runtime alerts', (_name, target, modelInfo, fallback, drift) => {
  const pod = (instance: string) => ({ ...target, instance });

  test('VolwatchModelFallbackActive fires after 5 minutes of fallback on a pod', () => {
    run([
      {
        name: 'fallback from minute 3 on pod a',
        interval: '1m',
        input_series: [series(fallback, pod('a'), '0 0 0 1x15'), series(fallback, pod('b'), '0x18')],
        alert_rule_test: [
          { eval_time: '7m30s', alertname: 'VolwatchModelFallbackActive', exp_alerts: [] },
          { eval_time: '8m', alertname: 'VolwatchModelFallbackActive', exp_alerts: [fired('VolwatchModelFallbackActive', target.job, pod('a'), { '$labels.instance': 'a' })] },
        ],
      },
    ]);
  });

  test('VolwatchBaselineModelServing (info) fires a minute after a pod serves the baseline, not for ml', () => {
    const info = (instance: string, variant: string) => ({ ...pod(instance), name: 'volwatch-spike-logreg', version: '1.0.0', variant });
    run([
      {
        name: 'rollback of pod b at minute 2',
        interval: '1m',
        input_series: [series(modelInfo, info('a', 'ml'), '1x10'), series(modelInfo, info('b', 'ml'), '1 1'), series(modelInfo, info('b', 'baseline'), '_ _ 1x8')],
        alert_rule_test: [
          { eval_time: '2m30s', alertname: 'VolwatchBaselineModelServing', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'VolwatchBaselineModelServing',
            exp_alerts: [fired('VolwatchBaselineModelServing', target.job, { ...target, variant: 'baseline', version: '1.0.0' }, { '$value': '1', '$labels.version': '1.0.0' })],
          },
        ],
      },
    ]);
  });

  test('VolwatchDatasetDrift fires after 15 minutes of dataset drift with the drifted share; a minority of drifted features is quiet', () => {
    run([
      {
        name: 'minority',
        interval: '1m',
        input_series: [series(drift.share, pod('a'), '0.4x20'), series(drift.dataset, pod('a'), '0x20')],
        alert_rule_test: [{ eval_time: '18m', alertname: 'VolwatchDatasetDrift', exp_alerts: [] }],
      },
      {
        name: 'majority',
        interval: '1m',
        input_series: [series(drift.share, pod('a'), '0.6x20'), series(drift.dataset, pod('a'), '1x20')],
        alert_rule_test: [
          { eval_time: '14m30s', alertname: 'VolwatchDatasetDrift', exp_alerts: [] },
          { eval_time: '15m', alertname: 'VolwatchDatasetDrift', exp_alerts: [fired('VolwatchDatasetDrift', target.job, target, { '$value | humanizePercentage': '60%' })] },
        ],
      },
    ]);
  });

  test('VolwatchFeatureDrift fires per feature whose PSI holds at 1 or more for 15 minutes; 0.99 is quiet, whatever drift_detected says', () => {
    const score = (instance: string, feature: string, method: string, v: string) => series(drift.score, { ...pod(instance), feature, method }, `${v}x20`);
    run([
      {
        name: 'spread_bps at PSI 1 on one pod; rv_60s at 0.99, drifted by the 0.2 decision',
        interval: '1m',
        input_series: [
          score('a', 'spread_bps', 'psi', '1'),
          score('b', 'spread_bps', 'psi', '0.3'),
          score('a', 'spread_bps', 'wasserstein', '0.25'),
          score('a', 'spread_bps', 'ks_pvalue', '0.0001'),
          score('a', 'rv_60s', 'psi', '0.99'),
          score('a', 'rv_60s', 'wasserstein', '0.5'),
          series(drift.detected, { ...pod('a'), feature: 'spread_bps' }, '1x20'),
          series(drift.detected, { ...pod('a'), feature: 'rv_60s' }, '1x20'),
        ],
        alert_rule_test: [
          { eval_time: '14m30s', alertname: 'VolwatchFeatureDrift', exp_alerts: [] },
          {
            eval_time: '15m',
            alertname: 'VolwatchFeatureDrift',
            exp_alerts: [fired('VolwatchFeatureDrift', target.job, { ...target, feature: 'spread_bps' }, { '$labels.feature': 'spread_bps', '$value | printf "%.2f"': '1.00', "with:method='wasserstein'": '0.250' })],
          },
        ],
      },
    ]);
  });

  test('VolwatchEventLoopLagHigh: p99 lag of 150 ms is quiet, 250 ms fires after 10 minutes', () => {
    run([
      {
        name: 'one slow pod',
        interval: '1m',
        input_series: [series('nodejs_eventloop_lag_p99_seconds', pod('a'), '0.25x15'), series('nodejs_eventloop_lag_p99_seconds', pod('b'), '0.15x15')],
        alert_rule_test: [
          { eval_time: '9m30s', alertname: 'VolwatchEventLoopLagHigh', exp_alerts: [] },
          { eval_time: '10m', alertname: 'VolwatchEventLoopLagHigh', exp_alerts: [fired('VolwatchEventLoopLagHigh', target.job, pod('a'), { '$labels.instance': 'a', '$value | humanizeDuration': '250ms' })] },
        ],
      },
    ]);
  });
});

describe('consumer alerts', () => {
  const part = (instance: string, partition: string) => ({ ...consumer, instance, consumergroup: 'volwatch-consumer', topic: 'ticks', partition });
  const group = { ...consumer, consumergroup: 'volwatch-consumer', topic: 'ticks' };

  test('VolwatchConsumerDown fires after 5 minutes without a healthy consumer', () => {
    run([
      {
        name: 'all down',
        interval: '1m',
        input_series: [series('up', { ...consumer, instance: 'a' }, '1x2 0x10')],
        alert_rule_test: [
          { eval_time: '7m30s', alertname: 'VolwatchConsumerDown', exp_alerts: [] },
          { eval_time: '8m', alertname: 'VolwatchConsumerDown', exp_alerts: [fired('VolwatchConsumerDown', undefined, {})] },
        ],
      },
    ]);
  });

  test(`${CONSUMER_LAG_RECORD} counts each partition once: every member reports the whole group's lag`, () => {
    run([
      {
        name: 'overlap',
        interval: '1m',
        input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '10x5'), series(CONSUMER_METRICS.groupOffsetLag, part('b', '0'), '12x5'), series(CONSUMER_METRICS.groupOffsetLag, part('b', '1'), '5x5')],
        promql_expr_test: [{ expr: CONSUMER_LAG_RECORD, eval_time: '3m', exp_samples: [{ labels: `${CONSUMER_LAG_RECORD}{consumergroup="volwatch-consumer",job="${consumer.job}",namespace="${ns}",topic="ticks"}`, value: 17 }] }],
      },
    ]);
  });

  test('VolwatchConsumerLagGrowing: a steady lag is quiet, a lag that grows for 10 minutes fires', () => {
    run([
      { name: 'steady', interval: '1m', input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '500x15')], alert_rule_test: [{ eval_time: '14m', alertname: 'VolwatchConsumerLagGrowing', exp_alerts: [] }] },
      {
        name: 'growing',
        interval: '1m',
        input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '0+100x15')],
        alert_rule_test: [
          { eval_time: '10m30s', alertname: 'VolwatchConsumerLagGrowing', exp_alerts: [] },
          { eval_time: '11m', alertname: 'VolwatchConsumerLagGrowing', exp_alerts: [fired('VolwatchConsumerLagGrowing', undefined, group, { '$labels.consumergroup': 'volwatch-consumer', '$labels.topic': 'ticks', '$value | printf "%.0f"': '1100' })] },
        ],
      },
    ]);
  });

  test('VolwatchConsumerStalled: lag with no processed message fires after 5 minutes; an idle caught-up consumer and a working one are quiet', () => {
    const processed = (perMin: number) => series(CONSUMER_METRICS.processed, { ...consumer, instance: 'a' }, counter(steps(perMin, 12)));
    run([
      { name: 'working', interval: '1m', input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '500x12'), processed(300)], alert_rule_test: [{ eval_time: '11m', alertname: 'VolwatchConsumerStalled', exp_alerts: [] }] },
      { name: 'idle', interval: '1m', input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '0x12'), processed(0)], alert_rule_test: [{ eval_time: '11m', alertname: 'VolwatchConsumerStalled', exp_alerts: [] }] },
      {
        name: 'stalled',
        interval: '1m',
        input_series: [series(CONSUMER_METRICS.groupOffsetLag, part('a', '0'), '500x12'), processed(0)],
        alert_rule_test: [
          { eval_time: '5m30s', alertname: 'VolwatchConsumerStalled', exp_alerts: [] },
          { eval_time: '6m', alertname: 'VolwatchConsumerStalled', exp_alerts: [fired('VolwatchConsumerStalled', undefined, group, { '$labels.consumergroup': 'volwatch-consumer', '$labels.topic': 'ticks', '$value | printf "%.0f"': '500' })] },
        ],
      },
    ]);
  });

  test('VolwatchConsumerStale: fires a minute after the last processed message is 60 s old, even once the consumer stopped being scraped', () => {
    run([
      { name: 'fresh', interval: '1m', input_series: [series(CONSUMER_METRICS.lastProcessed, { ...consumer, instance: 'a' }, '0+60x20')], alert_rule_test: [{ eval_time: '19m', alertname: 'VolwatchConsumerStale', exp_alerts: [] }] },
      {
        // Processed until minute 3 (t = 180 s), then gone: frozen or killed.
        name: 'gone after minute 3',
        interval: '1m',
        input_series: [series(CONSUMER_METRICS.lastProcessed, { ...consumer, instance: 'a' }, '0+60x3')],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'VolwatchConsumerStale', exp_alerts: [] },
          { eval_time: '5m30s', alertname: 'VolwatchConsumerStale', exp_alerts: [fired('VolwatchConsumerStale', undefined, consumer, { '$value | humanizeDuration': '2m 30s' })] },
        ],
      },
    ]);
  });

  test('VolwatchConsumerDeadLetters: no dead letter is quiet, a steady trickle fires after 10 minutes', () => {
    const dlq = (perMin: number) => series(CONSUMER_METRICS.deadLettered, { ...consumer, instance: 'a', reason: 'schema' }, counter(steps(perMin, 15)));
    run([
      { name: 'none', interval: '1m', input_series: [dlq(0)], alert_rule_test: [{ eval_time: '14m', alertname: 'VolwatchConsumerDeadLetters', exp_alerts: [] }] },
      {
        name: 'one a minute',
        interval: '1m',
        input_series: [dlq(1)],
        alert_rule_test: [
          { eval_time: '10m30s', alertname: 'VolwatchConsumerDeadLetters', exp_alerts: [] },
          { eval_time: '11m', alertname: 'VolwatchConsumerDeadLetters', exp_alerts: [fired('VolwatchConsumerDeadLetters', undefined, consumer, { '$value | printf "%.2f"': '0.02' })] },
        ],
      },
    ]);
  });
});
