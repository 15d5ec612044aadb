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
});
