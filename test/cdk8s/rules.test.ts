import * as fs from 'node:fs';
import * as path from 'node:path';
import { API_METRICS } from '../../services/api/metrics';
import { CONSUMER_METRICS } from '../../services/consumer/metrics';
import { CONSUMER_LAG_RECORD } from '../../cdk8s/alerts';
import { REFERENCE_TARGETS, runbookAnchor, sloDefinitions } from '../../cdk8s/slo';
import { BROKER_METRICS } from '../../cdk8s/kafka-metrics';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { allRules, promtoolCheckRules, synthesizedRuleGroups } from './promtool';

const groups = synthesizedRuleGroups();
const rules = allRules(groups.values());
const alerts = rules.filter((r) => r.alert);
const runbook = fs.readFileSync(path.join(__dirname, '../../docs/runbook.md'), 'utf8');

// Prometheus 3.14's promtool, built from the Go module proxy (never Debian's 2.42).
let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

describe('PrometheusRules', () => {
  test('one PrometheusRule per scraped component, and promtool check rules is clean on all of them', () => {
    expect([...groups.keys()].sort()).toEqual(['kafka', 'volwatch-api', 'volwatch-consumer']);
    const { status, out } = promtoolCheckRules(promtool, [...groups.values()].flat());
    expect(out).toContain('SUCCESS');
    expect(out).not.toMatch(/WARNING|duplicate/i);
    expect(status).toBe(0);
  });

  test('promtool rejects an unparsable expression, so the check above can fail', () => {
    const { status, out } = promtoolCheckRules(promtool, [{ name: 'broken', rules: [{ alert: 'Broken', expr: 'sum(rate(http_requests_total[5m]) by' }] }]);
    expect(status).not.toBe(0);
    expect(out).toMatch(/parse error/i);
  });

  test('each component reads the metric names its service (or the broker exporter) defines', () => {
    const text = (name: string) => JSON.stringify(groups.get(name));
    expect(text('volwatch-api')).toContain(`${API_METRICS.httpRequests}{`);
    expect(text('volwatch-consumer')).toContain(`${CONSUMER_METRICS.groupOffsetLag}{`);
    expect(text('kafka')).toContain(`${BROKER_METRICS.logEndOffset}{`);
  });

  test('every alert has severity critical, warning or info, a summary, a description and a runbook_url to its own section of docs/runbook.md', () => {
    const headings = new Set([...runbook.matchAll(/^### (\S+)$/gm)].map((m) => runbookAnchor(m[1]!)));
    expect(alerts.length).toBeGreaterThan(20);
    for (const a of alerts) {
      const labels = a.labels as Record<string, string>;
      const ann = a.annotations as Record<string, string>;
      expect({ alert: a.alert, severity: labels.severity }).toEqual({ alert: a.alert, severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect({ alert: a.alert, summary: ann.summary?.length, description: ann.description?.length }).toEqual({ alert: a.alert, summary: expect.any(Number), description: expect.any(Number) });
      const url = new URL(ann.runbook_url!);
      expect(`${url.origin}${url.pathname}`).toBe('https://github.com/volwatch/volwatch/blob/main/docs/runbook.md');
      expect({ alert: a.alert, anchor: url.hash.slice(1), inRunbook: headings.has(url.hash.slice(1)) }).toEqual({ alert: a.alert, anchor: runbookAnchor(a.alert!), inRunbook: true });
    }
  });

  test('every symptom alert has a promtool unit test (the SLO alerts and recordings are tested for every SLO in rules-slo)', () => {
    const tests = ['rules-alerts.test.ts', 'rules-broker.test.ts'].map((f) => fs.readFileSync(path.join(__dirname, f), 'utf8')).join('\n');
    const slo = new Set(sloDefinitions(REFERENCE_TARGETS).map((s) => s.alertName).concat('VolwatchSloSliMissing'));
    const symptom = [...new Set(alerts.map((a) => a.alert!))].filter((n) => !slo.has(n));
    expect(symptom.length).toBeGreaterThan(15);
    expect(symptom.filter((n) => !tests.includes(`'${n}'`))).toEqual([]);
    const records = [...new Set(rules.filter((r) => r.record && !r.record.startsWith('slo:') && r.record !== 'sloth_slo_info').map((r) => r.record!))];
    expect(records).toEqual([CONSUMER_LAG_RECORD]);
  });
});
