import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { synthesize } from '../../cdk8s/app';
import { API_METRICS } from '../../services/api/metrics';
import { CONSUMER_METRICS } from '../../services/consumer/metrics';

const rules = [...synthesize().objects.values()].flat().filter((o) => o.kind === 'PrometheusRule');

function promtoolCheck(groups: unknown[]): { status: number | null; out: string } {
  const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (which.error) {
    throw new Error('promtool is not installed: install the Debian package "prometheus" (apt-get install -y prometheus) so the rule groups can be checked');
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-rules-')), 'rules.yaml');
  fs.writeFileSync(file, stringify({ groups }));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('PrometheusRules', () => {
  test('every synthesized rule group passes promtool check rules', () => {
    expect(rules.map((r) => r.metadata.name).sort()).toEqual(['volwatch-api', 'volwatch-consumer']);
    const groups = rules.flatMap((r) => r.spec.groups);
    const { status, out } = promtoolCheck(groups);
    expect(out).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  test('promtool rejects an unparsable expression, so the check above can fail', () => {
    const { status, out } = promtoolCheck([{ name: 'broken', rules: [{ alert: 'Broken', expr: 'sum(rate(http_requests_total[5m]) by' }] }]);
    expect(status).not.toBe(0);
    expect(out).toMatch(/parse error/i);
  });

  test('API rules use the metric names the API exports, plus the down alert', () => {
    const api = rules.find((r) => r.metadata.name === 'volwatch-api')!;
    const text = JSON.stringify(api.spec.groups);
    expect(text).toContain(`${API_METRICS.httpRequests}{`);
    const alerts = api.spec.groups.flatMap((g: { rules: { alert?: string }[] }) => g.rules.map((r) => r.alert)).filter(Boolean);
    expect(alerts).toContain('VolwatchApiDown');
  });

  test('consumer rules use the metric names the consumer exports, plus the down alert', () => {
    const consumer = rules.find((r) => r.metadata.name === 'volwatch-consumer')!;
    const text = JSON.stringify(consumer.spec.groups);
    expect(text).toContain(`${CONSUMER_METRICS.processed}{`);
    expect(text).toContain(`${CONSUMER_METRICS.offsetLag}{`);
    expect(text).toContain('VolwatchConsumerDown');
  });

  test('promtool test rules: the down alerts fire after 5 minutes without a healthy target and stay quiet while one is up', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-rules-test-'));
    const annotationsOf = (alert: string) =>
      rules.flatMap((r) => r.spec.groups.flatMap((g: { rules: { alert?: string; annotations?: Record<string, string> }[] }) => g.rules)).find((x: { alert?: string }) => x.alert === alert)!.annotations;
    fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rules.flatMap((r) => r.spec.groups) }));
    const alertTest = (job: string, alertname: string) => ({
      interval: '1m',
      input_series: [
        { series: `up{job="${job}",namespace="volwatch",pod="a"}`, values: '1x5 0x10' },
        { series: `up{job="${job}",namespace="volwatch",pod="b"}`, values: '1x5 0x2 1x8' },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname, exp_alerts: [] },
        // pod b is back at minute 8: one healthy target is enough.
        { eval_time: '10m', alertname, exp_alerts: [] },
        { eval_time: '8m', alertname, exp_alerts: [] },
      ],
    });
    const allDown = (job: string, alertname: string) => ({
      interval: '1m',
      input_series: [{ series: `up{job="${job}",namespace="volwatch",pod="a"}`, values: '1x2 0x10' }],
      alert_rule_test: [
        { eval_time: '6m', alertname, exp_alerts: [] },
        { eval_time: '9m', alertname, exp_alerts: [{ exp_labels: { severity: 'critical', job, namespace: 'volwatch' }, exp_annotations: annotationsOf(alertname) }] },
      ],
    });
    fs.writeFileSync(
      path.join(dir, 'tests.yaml'),
      stringify({
        rule_files: ['rules.yaml'],
        evaluation_interval: '30s',
        tests: [
          alertTest('volwatch-api', 'VolwatchApiDown'),
          allDown('volwatch-api', 'VolwatchApiDown'),
          alertTest('volwatch-consumer', 'VolwatchConsumerDown'),
          allDown('volwatch-consumer', 'VolwatchConsumerDown'),
        ],
      }),
    );
    promtoolCheck([]); // fails with the install hint when promtool is missing
    const r = spawnSync('promtool', ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
