import { API_METRICS } from '../../services/api/metrics';
import { CONSUMER_METRICS } from '../../services/consumer/metrics';
import { promLe, REFERENCE_TARGETS, sloDefinitions, type SloDefinition } from '../../cdk8s/slo';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { alertRule, allRules, counter, promtoolTest, renderedAnnotations, series, steps, synthesizedRuleGroups } from './promtool';

// Sloth's rules, as synthesized into the PrometheusRules, unit-tested with Prometheus 3.14's promtool.
const groups = synthesizedRuleGroups();
// Sloth's groups and the SLI-missing alerts only: the other alert groups would make the
// multi-hour evaluations several times slower without being read.
const ruleGroups = [...groups.values()].flat().flatMap((g) => {
  if (g.name.startsWith('sloth-slo-')) return [g];
  const missing = (g.rules ?? []).filter((r) => r.alert === 'VolwatchSloSliMissing');
  return missing.length ? [{ ...g, rules: missing }] : [];
});
const SLOS = sloDefinitions(REFERENCE_TARGETS);
const api = { job: REFERENCE_TARGETS.api, namespace: REFERENCE_TARGETS.namespace };
const consumer = { job: REFERENCE_TARGETS.consumer, namespace: REFERENCE_TARGETS.namespace };

let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

/**
 * Input series for one SLO with `good[i]` and `bad[i]` events in minute i. Each SLI also
 * gets series it must ignore (probes, other statuses, unrelated error types), so a lost
 * filter changes the numbers.
 */
function sliSeries(slo: SloDefinition, good: number[], bad: number[]): object[] {
  const total = good.map((g, i) => g + bad[i]!);
  const n = good.length;
  switch (slo.name) {
    case 'availability':
      return [
        // 7 of the good events are client errors (422): events, not errors.
        series(API_METRICS.httpRequests, { ...api, method: 'POST', route: '/predict', status: '200' }, counter(good.map((g) => g - Math.min(g, 7)))),
        series(API_METRICS.httpRequests, { ...api, method: 'POST', route: '/predict', status: '422' }, counter(good.map((g) => Math.min(g, 7)))),
        series(API_METRICS.httpRequests, { ...api, method: 'POST', route: '/predict', status: '500' }, counter(bad)),
        series(API_METRICS.httpRequests, { ...api, method: 'GET', route: '/ready', status: '503' }, counter(steps(12, n))),
        series(API_METRICS.httpRequests, { ...api, method: 'GET', route: '/health', status: '200' }, counter(steps(12, n))),
      ];
    case 'latency': {
      const sel = { ...api, method: 'POST', route: '/predict', status: '200' };
      return [
        series(`${API_METRICS.httpDuration}_bucket`, { ...sel, le: '0.05' }, counter(good.map((g) => Math.floor(g / 2)))),
        series(`${API_METRICS.httpDuration}_bucket`, { ...sel, le: promLe(0.1) }, counter(good)),
        series(`${API_METRICS.httpDuration}_bucket`, { ...sel, le: '+Inf' }, counter(total)),
        series(`${API_METRICS.httpDuration}_count`, sel, counter(total)),
        // Slow probes must not count.
        series(`${API_METRICS.httpDuration}_bucket`, { ...api, method: 'GET', route: '/health', status: '200', le: promLe(0.1) }, counter(steps(0, n))),
        series(`${API_METRICS.httpDuration}_count`, { ...api, method: 'GET', route: '/health', status: '200' }, counter(steps(50, n))),
      ];
    }
    case 'freshness':
      return [
        series(`${CONSUMER_METRICS.eventLag}_bucket`, { ...consumer, le: '10.0' }, counter(good)),
        series(`${CONSUMER_METRICS.eventLag}_bucket`, { ...consumer, le: promLe(30) }, counter(good)),
        series(`${CONSUMER_METRICS.eventLag}_bucket`, { ...consumer, le: '+Inf' }, counter(total)),
        series(`${CONSUMER_METRICS.eventLag}_count`, consumer, counter(total)),
      ];
    case 'errors':
      return [
        series(CONSUMER_METRICS.consumed, consumer, counter(total)),
        series(CONSUMER_METRICS.deadLettered, { ...consumer, reason: 'schema' }, counter(bad.map((b) => b - Math.floor(b / 4)))),
        series(CONSUMER_METRICS.errors, { ...consumer, type: 'inference_failed' }, counter(bad.map((b) => Math.floor(b / 4)))),
        // Not message failures: a lag refresh that failed loses no tick.
        series(CONSUMER_METRICS.errors, { ...consumer, type: 'lag_refresh_failed' }, counter(steps(40, n))),
        series(CONSUMER_METRICS.errors, { ...consumer, type: 'schema' }, counter(bad.map((b) => b - Math.floor(b / 4)))),
      ];
    default:
      throw new Error(`no SLI inputs for ${slo.name}`);
  }
}

const budget = (s: SloDefinition) => 1 - s.objective / 100;
/** Go's `%.4g` of a percentage, as humanizePercentage prints it. */
const pct = (ratio: number) => `${Number((ratio * 100).toPrecision(4))}%`;
const ids = (s: SloDefinition) => ({ sloth_id: `${s.service}-${s.name}`, sloth_service: s.service, sloth_slo: s.name });
const sel = (s: SloDefinition) => `sloth_id="${s.service}-${s.name}"`;

function burnAlert(s: SloDefinition, kind: 'page' | 'ticket', shortRatio: string) {
  const severity = kind === 'page' ? 'critical' : 'warning';
  const rule = alertRule(groups.values(), s.alertName, severity);
  return {
    exp_labels: { severity, sloth_severity: kind, namespace: REFERENCE_TARGETS.namespace, ...ids(s) },
    exp_annotations: renderedAnnotations(rule, { '$value | humanizePercentage': shortRatio, '$labels.sloth_service': s.service, '$labels.sloth_slo': s.name }),
  };
}

describe('Sloth SLO rules (promtool 3.14)', () => {
  test('every SLO has the full Sloth rule set: 8 windows, meta recordings, page and ticket alerts', () => {
    const records = allRules(groups.values()).filter((r) => r.record);
    for (const s of SLOS) {
      const mine = records.filter((r) => (r.labels as Record<string, string> | undefined)?.sloth_id === `${s.service}-${s.name}`).map((r) => r.record);
      expect(mine.sort()).toEqual(
        [
          ...['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].map((w) => `slo:sli_error:ratio_rate${w}`),
          'slo:objective:ratio',
          'slo:error_budget:ratio',
          'slo:time_period:days',
          'slo:current_burn_rate:ratio',
          'slo:period_burn_rate:ratio',
          'slo:period_error_budget_remaining:ratio',
          'sloth_slo_info',
        ].sort(),
      );
      expect(allRules(groups.values()).filter((r) => r.alert === s.alertName).map((r) => (r.labels as Record<string, string>).severity).sort()).toEqual(['critical', 'warning']);
    }
  });

  test('recording rules: at a steady 10x-budget error ratio every window, the budget and the burn rates read what Sloth defines', () => {
    const minutes = 120;
    const tests = SLOS.map((s) => {
      const bad = steps(budget(s) * 10 * 1000, minutes);
      const good = bad.map((b) => 1000 - b);
      const r = budget(s) * 10;
      const windows = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'];
      return {
        name: `${s.service}-${s.name} recordings`,
        interval: '1m',
        input_series: sliSeries(s, good, bad),
        promql_expr_test: [
          ...windows.map((w) => ({
            expr: `round(slo:sli_error:ratio_rate${w}{${sel(s)}} * 1e6)`,
            eval_time: `${minutes}m`,
            exp_samples: [{ labels: `{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}",sloth_window="${w}"}`, value: Math.round(r * 1e6) }],
          })),
          // The burn rates keep the sloth_window of the ratio they divide (Sloth's group_left).
          ...(
            [
              ['slo:objective:ratio', s.objective / 100, ''],
              ['slo:error_budget:ratio', budget(s), ''],
              ['slo:time_period:days', 30, ''],
              ['slo:current_burn_rate:ratio', 10, '5m'],
              ['slo:period_burn_rate:ratio', 10, '30d'],
              ['slo:period_error_budget_remaining:ratio', -9, '30d'],
            ] as const
          ).map(([name, v, window]) => ({
            expr: `round(${name}{${sel(s)}} * 1e6)`,
            eval_time: `${minutes}m`,
            exp_samples: [{ labels: `{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}"${window ? `,sloth_window="${window}"` : ''}}`, value: Math.round(v * 1e6) }],
          })),
          {
            expr: `sloth_slo_info{${sel(s)}}`,
            eval_time: `${minutes}m`,
            exp_samples: [
              {
                labels: `sloth_slo_info{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_mode="cli-gen-prom",sloth_objective="${s.objective}",sloth_service="${s.service}",sloth_slo="${s.name}",sloth_spec="prometheus/v1",sloth_version="v0.16.0"}`,
                value: 1,
              },
            ],
          },
        ],
      };
    });
    const r = promtoolTest(promtool, ruleGroups, tests);
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('zero traffic: every ratio is 0 (not NaN), the budget stays whole, nothing pages, nothing is missing', () => {
    const minutes = 90;
    const tests = [
      {
        name: 'all SLIs idle',
        interval: '1m',
        input_series: SLOS.flatMap((s) => sliSeries(s, steps(0, minutes), steps(0, minutes))),
        promql_expr_test: SLOS.flatMap((s) => [
          ...['5m', '1h', '3d', '30d'].map((w) => ({
            expr: `slo:sli_error:ratio_rate${w}{${sel(s)}}`,
            eval_time: `${minutes}m`,
            exp_samples: [{ labels: `slo:sli_error:ratio_rate${w}{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}",sloth_window="${w}"}`, value: 0 }],
          })),
          {
            expr: `slo:period_error_budget_remaining:ratio{${sel(s)}}`,
            eval_time: `${minutes}m`,
            exp_samples: [{ labels: `slo:period_error_budget_remaining:ratio{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}",sloth_window="30d"}`, value: 1 }],
          },
        ]),
        alert_rule_test: [
          ...SLOS.map((s) => ({ eval_time: `${minutes - 5}m`, alertname: s.alertName, exp_alerts: [] })),
          { eval_time: `${minutes - 5}m`, alertname: 'VolwatchSloSliMissing', exp_alerts: [] },
        ],
      },
    ];
    const r = promtoolTest(promtool, ruleGroups, tests, '1m');
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('vanished SLI series: VolwatchSloSliMissing fires after 10 minutes, one per SLO, and the burn alerts stay silent', () => {
    const tests = [
      {
        name: 'no SLI inputs at all',
        interval: '1m',
        // Only the target's up series: the metrics themselves are gone (renamed, dropped).
        input_series: [series('up', { ...api, instance: 'a' }, '1x20'), series('up', { ...consumer, instance: 'b' }, '1x20')],
        alert_rule_test: [
          { eval_time: '9m30s', alertname: 'VolwatchSloSliMissing', exp_alerts: [] },
          {
            eval_time: '10m',
            alertname: 'VolwatchSloSliMissing',
            exp_alerts: SLOS.map((s) => ({
              exp_labels: { severity: 'warning', namespace: 'volwatch', ...ids(s) },
              exp_annotations: renderedAnnotations(
                allRules(groups.values()).find((r) => r.alert === 'VolwatchSloSliMissing' && String(r.expr).includes(`sloth_id="${s.service}-${s.name}"`))!,
              ),
            })),
          },
          ...SLOS.map((s) => ({ eval_time: '15m', alertname: s.alertName, exp_alerts: [] })),
        ],
      },
    ];
    const r = promtoolTest(promtool, ruleGroups, tests);
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('20x the budget from the first request pages (and tickets) within 5 minutes', () => {
    const tests = SLOS.map((s) => {
      const bad = steps(budget(s) * 20 * 1000, 10);
      return {
        name: `${s.service}-${s.name} bad start`,
        interval: '1m',
        input_series: sliSeries(
          s,
          bad.map((b) => 1000 - b),
          bad,
        ),
        alert_rule_test: [
          { eval_time: '30s', alertname: s.alertName, exp_alerts: [] },
          { eval_time: '5m', alertname: s.alertName, exp_alerts: [burnAlert(s, 'page', pct(budget(s) * 20)), burnAlert(s, 'ticket', pct(budget(s) * 20))] },
        ],
      };
    });
    const r = promtoolTest(promtool, ruleGroups, tests);
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('after 6 clean hours, 20x the budget opens a ticket after 19 minutes, pages after 43-44 (1h ratio > 14.4x), and the page resolves within 5 minutes of the fix', () => {
    // Minute by minute: 1000 events, of which b = 20x the budget fail from minute 360 to 420;
    // x = minutes since the onset. rate() extrapolates each window to its edges, except a
    // counter back past its zero: an error counter that was 0 at the window's first sample
    // (availability, consumer errors) is not extrapolated while the total is; a difference
    // of two growing counters (latency, freshness) is extrapolated like the total. So:
    // - 1h window: b*x/60000 (own counter) or b*x/59000 (difference) > 14.4x budget from
    //   x = 44 or 43 (43.2 min in theory): the quick page pair fires then;
    // - 6h window: b*x/360000 or b*x/359000 > 1x budget from x = 18; 3d window (the whole
    //   history): b*x/((360+x)*1000) > budget from x = 19: the slow ticket pair fires at 19;
    // - the page resolves once the 5m window holds no error, by x = 64.
    // (The groups are evaluated recordings first, so each alert reads this minute's ratios;
    // in a real Prometheus the groups run independently and may add one evaluation interval.)
    // $value is the short window's ratio of the pair that fired: 5m for the page, 6h for the ticket.
    const clean = 360;
    const burn = 60;
    const after = 10;
    const tests = SLOS.map((s) => {
      const b = budget(s) * 20 * 1000;
      const bad = [...steps(0, clean), ...steps(b, burn), ...steps(0, after)];
      const at = (m: number) => `${clean + m}m`;
      const difference = s.name === 'latency' || s.name === 'freshness';
      const sixHours = (x: number) => pct((b * Math.min(x, burn)) / (difference ? 359_000 : 360_000));
      const ticketAt = 19;
      const pageAt = difference ? 43 : 44;
      return {
        name: `${s.service}-${s.name} onset after clean history`,
        interval: '1m',
        input_series: sliSeries(
          s,
          bad.map((x) => 1000 - x),
          bad,
        ),
        alert_rule_test: [
          { eval_time: at(ticketAt - 1), alertname: s.alertName, exp_alerts: [] },
          { eval_time: at(ticketAt), alertname: s.alertName, exp_alerts: [burnAlert(s, 'ticket', sixHours(ticketAt))] },
          { eval_time: at(pageAt - 1), alertname: s.alertName, exp_alerts: [burnAlert(s, 'ticket', sixHours(pageAt - 1))] },
          { eval_time: at(pageAt), alertname: s.alertName, exp_alerts: [burnAlert(s, 'page', pct(budget(s) * 20)), burnAlert(s, 'ticket', sixHours(pageAt))] },
          { eval_time: at(65), alertname: s.alertName, exp_alerts: [burnAlert(s, 'ticket', sixHours(65))] },
        ],
      };
    });
    const r = promtoolTest(promtool, ruleGroups, tests, '1m');
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('half the budget (0.05% for 99.9%) for 25 hours never pages nor opens a ticket', () => {
    // A steady ratio reads the same in every window, full or not: 25 hours fill all but the 3-day one.
    const minutes = 25 * 60;
    const tests = SLOS.map((s) => {
      const bad = steps(budget(s) * 0.5 * 1000, minutes);
      return {
        name: `${s.service}-${s.name} within budget`,
        interval: '1m',
        input_series: sliSeries(
          s,
          bad.map((b) => 1000 - b),
          bad,
        ),
        // (An alert check at the very last evaluation hides the recorded series from the
        // expression check at that time in promtool 3.14, hence the last alert check at -5m.)
        alert_rule_test: ['10m', '1h', '6h', '1d', `${minutes - 5}m`].map((t) => ({ eval_time: t, alertname: s.alertName, exp_alerts: [] })),
        promql_expr_test: [
          {
            expr: `round(slo:period_burn_rate:ratio{${sel(s)}} * 100)`,
            eval_time: `${minutes}m`,
            exp_samples: [{ labels: `{namespace="volwatch",sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}",sloth_window="30d"}`, value: 50 }],
          },
        ],
      };
    });
    const r = promtoolTest(promtool, ruleGroups, tests, '5m');
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });
});
