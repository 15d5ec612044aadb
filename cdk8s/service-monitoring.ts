import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
// Types only: the package is ESM-only, and the objects must stay plain data for cdk8s.
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { check, checkDnsLabel } from './common';
import type { ComponentLabels } from './labels';

export type RuleGroup = NonNullable<IPrometheusRule["spec"]["groups"]>[number];
export type Rule = NonNullable<RuleGroup["rules"]>[number];

/** A Grafana dashboard model; `uid` and `title` are required by the sidecar-provisioned file. */
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly [key: string]: unknown;
}

/** What ServiceMonitoring scrapes: one Service and its named metrics port. */
export interface ScrapeTarget {
  readonly name: string;
  readonly namespace: string;
  readonly labels: ComponentLabels;
  readonly metricsPortName: string;
  readonly metricsPath: string;
}

export interface ServiceMonitoringProps {
  readonly target: ScrapeTarget;
  /** Value of the `release` label the chart's Prometheus selects by. @default 'kube-prometheus-stack' */
  readonly release?: string;
  /** @default '15s' */
  readonly interval?: string;
  /** Scrape fails (target down) above this many samples: guards against a label explosion. @default 20000 */
  readonly sampleLimit?: number;
  /** @default 40 */
  readonly labelLimit?: number;
  /** @default 512 */
  readonly labelValueLengthLimit?: number;
  /** Rule groups of the PrometheusRule; none means no PrometheusRule. @default [] */
  readonly ruleGroups?: readonly RuleGroup[];
  /** Dashboards, one ConfigMap each. @default [] */
  readonly dashboards?: readonly Dashboard[];
  /** Grafana folder (`grafana_folder` annotation). @default 'Volwatch' */
  readonly folder?: string;
}

export const DASHBOARD_LABEL = 'grafana_dashboard';
export const DASHBOARD_LABEL_VALUE = '1';
export const FOLDER_ANNOTATION = 'grafana_folder';
export const DATASOURCE_UID = 'prometheus';

/** ServiceMonitor + PrometheusRule + dashboard ConfigMaps for one component. */
export class ServiceMonitoring extends Construct {
  readonly release: string;

  constructor(scope: Construct, id: string, props: ServiceMonitoringProps) {
    super(scope, id);
    const t = props.target;
    this.release = props.release ?? 'kube-prometheus-stack';
    const sampleLimit = props.sampleLimit ?? 20000;
    const labelLimit = props.labelLimit ?? 40;
    check(Number.isInteger(sampleLimit) && sampleLimit > 0, `ServiceMonitoring(${t.name}): sampleLimit ${sampleLimit} must be a positive integer`);
    check(Number.isInteger(labelLimit) && labelLimit > 0, `ServiceMonitoring(${t.name}): labelLimit ${labelLimit} must be a positive integer`);
    const labels = { ...t.labels.labels, release: this.release };

    const sm: IServiceMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: t.name, namespace: t.namespace, labels },
      spec: {
        selector: { matchLabels: { ...t.labels.selector } },
        namespaceSelector: { matchNames: [t.namespace] },
        endpoints: [{ port: t.metricsPortName, path: t.metricsPath, interval: props.interval ?? '15s', scrapeTimeout: '10s', honorLabels: false }],
        sampleLimit,
        labelLimit,
        labelValueLengthLimit: props.labelValueLengthLimit ?? 512,
      },
    };
    new ApiObject(this, 'servicemonitor', sm as never);

    const groups = props.ruleGroups ?? [];
    if (groups.length > 0) {
      const names = groups.map((g) => g.name);
      check(new Set(names).size === names.length, `ServiceMonitoring(${t.name}): rule group names must be unique, got ${names.join(', ')}`);
      const rule: IPrometheusRule = {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: t.name, namespace: t.namespace, labels },
        spec: { groups: [...groups] },
      };
      new ApiObject(this, 'prometheusrule', rule as never);
    }

    const folder = props.folder ?? 'Volwatch';
    for (const d of props.dashboards ?? []) {
      checkDnsLabel(`ServiceMonitoring(${t.name})`, 'dashboard uid', d.uid);
      check(!JSON.stringify(d).includes('${DS_'), `ServiceMonitoring(${t.name}): dashboard ${d.uid} uses an import-time datasource variable: set datasource uid "${DATASOURCE_UID}"`);
      new k8s.KubeConfigMap(this, `dashboard-${d.uid}`, {
        metadata: {
          name: `${d.uid}-dashboard`,
          namespace: t.namespace,
          labels: { ...t.labels.labels, [DASHBOARD_LABEL]: DASHBOARD_LABEL_VALUE },
          annotations: { [FOLDER_ANNOTATION]: folder },
        },
        data: { [`${d.uid}.json`]: `${JSON.stringify(d, null, 2)}\n` },
      });
    }
  }
}
