import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, synthesize } from '../../cdk8s/app';
import { CrdValidator } from '../../cdk8s/validate';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';

// Alertmanager 0.34's amtool (scripts/monitoring-tools.sh), the version the chart runs.
let amtool = '';
beforeAll(() => {
  amtool = monitoringTool('amtool');
}, BUILD_TIMEOUT_MS);

const CHART_DIR = path.join(REPO_ROOT, 'charts/kube-prometheus-stack');
const values = parse(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8'));
const chartEnv = Object.fromEntries(
  fs
    .readFileSync(path.join(CHART_DIR, 'chart.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const objs = [...synthesize().objects.values()].flat();
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('charts/kube-prometheus-stack', () => {
  test('the chart is pinned once, to 88.x (prometheus-operator v0.93, like ../shared/crds)', () => {
    expect(chartEnv.CHART_VERSION).toMatch(/^88\.\d+\.\d+$/);
    expect(chartEnv.OPERATOR_VERSION).toMatch(/^v0\.93\.\d+$/);
    expect(chartEnv.RELEASE_NAME).toBe('kube-prometheus-stack');
  });

  test('Prometheus selects our ServiceMonitors and PrometheusRules by label, in any namespace', () => {
    const spec = values.prometheus.prometheusSpec;
    const sms = objs.filter((o) => o.kind === 'ServiceMonitor');
    const prs = objs.filter((o) => o.kind === 'PrometheusRule');
    // API, consumer and the broker's JMX exporter.
    expect(sms.map((o) => o.metadata.name).sort()).toEqual(['kafka', 'volwatch-api', 'volwatch-consumer']);
    expect(prs.map((o) => o.metadata.name).sort()).toEqual(['kafka', 'volwatch-api', 'volwatch-consumer']);
    for (const sm of sms) expect(matches(spec.serviceMonitorSelector.matchLabels, sm.metadata.labels)).toBe(true);
    for (const pr of prs) expect(matches(spec.ruleSelector.matchLabels, pr.metadata.labels)).toBe(true);
    expect(spec.serviceMonitorSelector.matchLabels).toEqual({ release: chartEnv.RELEASE_NAME });
    expect(spec.serviceMonitorNamespaceSelector).toEqual({});
    expect(spec.ruleNamespaceSelector).toEqual({});
    expect(spec.retention).toMatch(/^\d+[dh]$/);
  });

  test('prometheusSpec and alertmanagerSpec are valid Prometheus and Alertmanager specs under the v0.93 CRD schemas', () => {
    // The chart copies these blocks into the custom resources it renders.
    const crds = new CrdValidator();
    const asObject = (kind: string, spec: unknown) => ({ apiVersion: 'monitoring.coreos.com/v1', kind, metadata: { name: 'x' }, spec });
    expect(crds.validate('values.yaml', asObject('Prometheus', values.prometheus.prometheusSpec)).errors).toEqual([]);
    expect(crds.validate('values.yaml', asObject('Alertmanager', values.alertmanager.alertmanagerSpec)).errors).toEqual([]);
    // The check bites: a misspelt field is reported.
    expect(crds.validate('values.yaml', asObject('Prometheus', { retension: '7d' })).errors.join()).toContain('retension');
  });

  test('the Grafana sidecar picks up our dashboard ConfigMaps, into their folder, with the datasource uid they use', () => {
    const sidecar = values.grafana.sidecar;
    const dashboards = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'));
    expect(dashboards.length).toBeGreaterThanOrEqual(2);
    for (const cm of dashboards) {
      expect(cm.metadata.labels[sidecar.dashboards.label]).toBe(String(sidecar.dashboards.labelValue));
      expect(cm.metadata.annotations[sidecar.dashboards.folderAnnotation]).toBe('Volwatch');
      for (const json of Object.values(cm.data) as string[]) {
        const datasources: unknown[] = [];
        JSON.parse(json, (key, value) => (key === 'datasource' && datasources.push(value), value));
        expect(datasources.length).toBeGreaterThan(0);
        expect(new Set(datasources.map((d) => JSON.stringify(d)))).toEqual(new Set([JSON.stringify({ type: 'prometheus', uid: sidecar.datasources.uid })]));
      }
    }
    expect(sidecar.dashboards.searchNamespace).toBe('ALL');
    expect(sidecar.dashboards.provider.foldersFromFilesStructure).toBe(true);
  });

  test('Grafana admin credentials come from a Secret, never a password in values', () => {
    expect(values.grafana.admin).toEqual({ existingSecret: chartEnv.GRAFANA_ADMIN_SECRET, userKey: 'admin-user', passwordKey: 'admin-password' });
    expect(values.grafana.adminPassword).toBeUndefined();
  });

  test('Alertmanager routes to a webhook receiver users replace', () => {
    const cfg = values.alertmanager.config;
    const receiver = cfg.receivers.find((r: { name: string }) => r.name === cfg.route.receiver);
    expect(receiver.webhook_configs[0].url).toMatch(/^https?:\/\//);
  });

  test('the Alertmanager config passes amtool, and our alerts route to the webhook while Watchdog goes nowhere', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-am-')), 'alertmanager.yaml');
    fs.writeFileSync(file, stringify(values.alertmanager.config));
    const check = spawnSync(amtool, ['check-config', file], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const route = (...labels: string[]) => spawnSync(amtool, ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' }).stdout.trim();
    const alerts = objs.filter((o) => o.kind === 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: { rules: { alert?: string; labels?: Record<string, string> }[] }) => g.rules.filter((x) => x.alert)));
    expect(alerts.length).toBeGreaterThanOrEqual(2);
    for (const a of alerts) {
      const labels = Object.entries({ alertname: a.alert, namespace: 'volwatch', ...a.labels }).map(([k, v]) => `${k}=${v}`);
      expect({ alert: a.alert, receiver: route(...labels) }).toEqual({ alert: a.alert, receiver: 'volwatch-webhook' });
    }
    expect(route('alertname=Watchdog')).toBe('null');
  });

  test('the chart archive the local node installs is the pinned version, with the pinned Operator', () => {
    const archive = path.join(REPO_ROOT, '..', 'shared', 'helm-charts', `${chartEnv.CHART_NAME}-${chartEnv.CHART_VERSION}.tgz`);
    if (!fs.existsSync(archive)) throw new Error(`${archive} is missing: scripts/node-up.sh installs the chart from it`);
    const chart = parse(spawnSync('tar', ['-xzOf', archive, `${chartEnv.CHART_NAME}/Chart.yaml`], { encoding: 'utf8' }).stdout);
    expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({ version: chartEnv.CHART_VERSION, appVersion: chartEnv.OPERATOR_VERSION });
  });

  test('the local-node overlay only switches components off, each with the reason beside it', () => {
    const file = path.join(CHART_DIR, 'values-local-node.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const overlay = parse(text);
    const leaves = (o: Record<string, unknown>, at: string[] = []): [string, unknown][] =>
      Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? leaves(v as Record<string, unknown>, [...at, k]) : [[[...at, k].join('.'), v] as [string, unknown]]));
    const off = leaves(overlay);
    expect(off.map(([k]) => k).sort()).toEqual(
      ['grafana.enabled', 'kubeStateMetrics.enabled', 'nodeExporter.enabled', 'prometheusOperator.admissionWebhooks.enabled', 'prometheusOperator.tls.enabled'].sort(),
    );
    for (const [key, value] of off) expect({ key, value }).toEqual({ key, value: false });
    // Every switched-off block is preceded by a comment saying why.
    const lines = text.split('\n');
    for (const [key] of off) {
      const block = key.split('.').slice(-2, -1)[0]!;
      const at = lines.findIndex((l) => new RegExp(`^\\s*${block}:`).test(l));
      expect({ key, commented: at > 0 && /^\s*#/.test(lines[at - 1]!) }).toEqual({ key, commented: true });
    }
  });
});
