/**
 * The local stack's Prometheus and Alertmanager configuration, generated from the same
 * definitions as the cluster: the ServiceMonitors and Services synthesize() produces give the
 * jobs, namespaces and metrics ports (a local target per Service, labelled with the `job` and
 * `namespace` the operator would set), the PrometheusRules give the rule file unchanged, and
 * the chart values' Alertmanager config gives the route tree, with a local webhook receiver.
 *
 *   node --import tsx scripts/local/monitoring-config.ts OUT_DIR [--kafka-metrics-port N]
 *        [--alert-webhook URL] [--scrape-interval 5s] [--time-scale N]
 *
 * --time-scale N divides every rule window and `for` by N (a test rendering; the production
 * windows are proven by the promtool tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, synthesize, type VolwatchAppProps } from '../../cdk8s/app';
import type { RuleGroup } from '../../cdk8s/service-monitoring';

export interface LocalMonitoringOptions {
  /** Where the broker's JMX exporter listens locally (scripts/kafka-local.sh: KAFKA_PORT + 2). */
  readonly kafkaMetricsPort: number;
  /** Alertmanager's webhook receiver: the route's severity is appended as a path segment. */
  readonly alertWebhook: string;
  /** Alertmanager's address for Prometheus. */
  readonly alertmanager: string;
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  /** Divide rule windows and `for` durations by this (1 = production rules). */
  readonly timeScale: number;
  /** Local port per job, where it differs from the Service's port (tests on free ports). */
  readonly ports?: Readonly<Record<string, number>>;
  /** Alert thresholds other than the cluster's (a test rendering). */
  readonly alertThresholds?: VolwatchAppProps['alertThresholds'];
}

type Obj = Record<string, any>;

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

function seconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  return total;
}

function promDuration(s: number): string {
  if (s >= 1 && Number.isInteger(s)) return `${s}s`;
  return `${Math.max(1, Math.round(s * 1000))}ms`;
}

/** Every `[range]`, `[range:step]` and `for` divided by `scale`; recording-rule names stay. */
export function scaleRuleGroups(groups: readonly RuleGroup[], scale: number): RuleGroup[] {
  if (scale === 1) return groups.map((g) => structuredClone(g));
  const d = (x: string) => promDuration(seconds(x) / scale);
  return groups.map((g) => ({
    ...g,
    ...(g.interval ? { interval: d(String(g.interval)) } : {}),
    rules: (g.rules ?? []).map((r) => ({
      ...r,
      expr: String(r.expr).replace(/\[(\d+(?:ms|[smhdwy]))(?::(\d+(?:ms|[smhdwy])))?\]/g, (_m, range: string, step?: string) => `[${d(range)}${step ? `:${d(step)}` : ''}]`),
      ...(r.for ? { for: d(String(r.for)) } : {}),
    })),
  }));
}

/** The scrape targets: one per ServiceMonitor endpoint, on the Service's port number locally. */
export function localScrapeConfigs(objects: readonly Obj[], o: Pick<LocalMonitoringOptions, 'kafkaMetricsPort' | 'scrapeInterval' | 'ports'>): Obj[] {
  const services = objects.filter((x) => x.kind === 'Service');
  return objects
    .filter((x) => x.kind === 'ServiceMonitor')
    .flatMap((sm) => {
      const selector = sm.spec.selector.matchLabels as Record<string, string>;
      const svc = services.filter((s) => s.metadata.namespace === sm.metadata.namespace && Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v));
      return (sm.spec.endpoints as Obj[]).flatMap((ep) =>
        svc.flatMap((s) => {
          const port = (s.spec.ports as Obj[]).find((p) => p.name === ep.port);
          if (!port) return [];
          const job = s.metadata.name as string;
          const local = o.ports?.[job] ?? (job === 'kafka' ? o.kafkaMetricsPort : (port.port as number));
          return [
            {
              job_name: job,
              scrape_interval: o.scrapeInterval,
              scrape_timeout: o.scrapeInterval,
              metrics_path: ep.path ?? '/metrics',
              static_configs: [{ targets: [`127.0.0.1:${local}`], labels: { namespace: s.metadata.namespace, pod: `${job}-local`, service: job } }],
            },
          ];
        }),
      );
    });
}

/** The chart's Alertmanager config with local timings and one webhook route per severity. */
export function localAlertmanagerConfig(o: Pick<LocalMonitoringOptions, 'alertWebhook' | 'timeScale'>): Obj {
  const values = parse(fs.readFileSync(path.join(REPO_ROOT, 'charts/kube-prometheus-stack/values.yaml'), 'utf8')) as Obj;
  const cluster = values.alertmanager.config as Obj;
  const fast = o.timeScale > 1;
  const webhook = (severity: string) => ({ name: `volwatch-${severity}`, webhook_configs: [{ url: `${o.alertWebhook}/${severity}`, send_resolved: true }] });
  return {
    global: cluster.global,
    route: {
      ...cluster.route,
      receiver: 'volwatch-warning',
      group_wait: fast ? '1s' : '10s',
      group_interval: fast ? '2s' : '1m',
      repeat_interval: cluster.route.repeat_interval,
      routes: [
        ...cluster.route.routes,
        ...['critical', 'warning', 'info'].map((severity) => ({ receiver: `volwatch-${severity}`, matchers: [`severity = "${severity}"`] })),
      ],
    },
    receivers: [{ name: 'null' }, ...['critical', 'warning', 'info'].map(webhook)],
    inhibit_rules: cluster.inhibit_rules,
  };
}

export function writeLocalMonitoring(outDir: string, o: LocalMonitoringOptions): { files: string[]; groups: number } {
  const objects = [...synthesize({ alertThresholds: o.alertThresholds }).objects.values()].flat();
  const groups = objects.filter((x) => x.kind === 'PrometheusRule').flatMap((x) => x.spec.groups as RuleGroup[]);
  fs.mkdirSync(outDir, { recursive: true });
  const prometheus = {
    global: { scrape_interval: o.scrapeInterval, evaluation_interval: o.evaluationInterval },
    rule_files: ['rules.yml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }] },
    scrape_configs: localScrapeConfigs(objects, o),
  };
  const files: [string, unknown][] = [
    ['prometheus.yml', prometheus],
    ['rules.yml', { groups: scaleRuleGroups(groups, o.timeScale) }],
    ['alertmanager.yml', localAlertmanagerConfig(o)],
  ];
  for (const [f, v] of files) fs.writeFileSync(path.join(outDir, f), stringify(v, { lineWidth: 0 }));
  return { files: files.map(([f]) => f), groups: groups.length };
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'kafka-metrics-port': { type: 'string', default: String(Number(process.env.KAFKA_PORT ?? 9092) + 2) },
      'alert-webhook': { type: 'string', default: 'http://127.0.0.1:9096/alerts' },
      alertmanager: { type: 'string', default: '127.0.0.1:9095' },
      'scrape-interval': { type: 'string', default: '5s' },
      'evaluation-interval': { type: 'string', default: '5s' },
      'time-scale': { type: 'string', default: '1' },
    },
  });
  const [out] = positionals;
  const port = Number(values['kafka-metrics-port']);
  const scale = Number(values['time-scale']);
  const errors = [
    ...(out ? [] : ['an output directory is required']),
    ...(Number.isInteger(port) && port > 0 && port < 65536 ? [] : [`--kafka-metrics-port must be a port number, got ${values['kafka-metrics-port']}`]),
    ...(scale >= 1 ? [] : [`--time-scale must be a number >= 1, got ${values['time-scale']}`]),
  ];
  if (errors.length) {
    process.stderr.write(`monitoring-config: ${errors.join('; ')}\n`);
    process.exit(2);
  }
  const r = writeLocalMonitoring(out!, {
    kafkaMetricsPort: port,
    alertWebhook: values['alert-webhook']!,
    alertmanager: values.alertmanager!,
    scrapeInterval: values['scrape-interval']!,
    evaluationInterval: values['evaluation-interval']!,
    timeScale: scale,
  });
  process.stdout.write(`wrote ${r.files.join(', ')} (${r.groups} rule groups) to ${out}\n`);
}

if (require.main === module) main();
