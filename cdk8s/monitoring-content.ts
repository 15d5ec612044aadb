import { API_METRICS } from '../services/api/metrics';
import { CONSUMER_METRICS } from '../services/consumer/metrics';
import { apiAlertGroups, brokerAlertGroups, consumerAlertGroups, CONSUMER_LAG_RECORD, type AlertThresholds, type BrokerTargets } from './alerts';
import { DATASOURCE_UID, type Dashboard, type RuleGroup } from './service-monitoring';
import { sloRuleGroups, type SloTargets } from './slo';

/**
 * What each component's PrometheusRule and dashboards hold: Sloth's SLO rules (generated,
 * cdk8s/generated/slo-rules.yaml), the symptom alerts (cdk8s/alerts.ts) and the dashboards.
 * Metric names come from the services' own constants so a rename cannot silently break
 * an alert.
 */
export interface ContentTarget {
  /** Prometheus `job` label: the Service name. */
  readonly job: string;
  readonly namespace: string;
}

export interface MonitoringContentProps {
  /** Jobs and namespace of both services (the SLO rules are generated for both at once). */
  readonly targets: SloTargets;
  readonly thresholds: AlertThresholds;
}

const ds = { type: 'prometheus', uid: DATASOURCE_UID } as const;

export function apiRuleGroups(p: MonitoringContentProps): RuleGroup[] {
  return [...sloRuleGroups(p.targets, 'api', p.thresholds.runbookBaseUrl), ...apiAlertGroups(p.targets, p.thresholds)];
}

export function consumerRuleGroups(p: MonitoringContentProps): RuleGroup[] {
  return [...sloRuleGroups(p.targets, 'consumer', p.thresholds.runbookBaseUrl), ...consumerAlertGroups(p.targets, p.thresholds)];
}

export function brokerRuleGroups(b: BrokerTargets, thresholds: AlertThresholds): RuleGroup[] {
  return brokerAlertGroups(b, thresholds);
}

function timeseries(id: number, title: string, expr: string, unit: string, y: number): Record<string, unknown> {
  return {
    id,
    type: 'timeseries',
    title,
    datasource: ds,
    gridPos: { h: 8, w: 12, x: (id - 1) % 2 === 0 ? 0 : 12, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: 'A', datasource: ds, expr, legendFormat: '__auto' }],
  };
}

function dashboard(uid: string, title: string, panels: Record<string, unknown>[]): Dashboard {
  return { uid, title, tags: ['volwatch'], schemaVersion: 39, editable: false, time: { from: 'now-1h', to: 'now' }, refresh: '30s', panels };
}

export function apiDashboards(t: ContentTarget): Dashboard[] {
  const sel = `job="${t.job}",namespace="${t.namespace}"`;
  return [
    dashboard('volwatch-api', 'Volwatch / Prediction API', [
      timeseries(1, 'Requests by status', `sum by (status) (rate(${API_METRICS.httpRequests}{${sel}}[5m]))`, 'reqps', 0),
      timeseries(2, 'Error ratio of /predict (5xx)', `sum(rate(${API_METRICS.httpRequests}{${sel},route="/predict",status=~"5.."}[5m])) / sum(rate(${API_METRICS.httpRequests}{${sel},route="/predict"}[5m]))`, 'percentunit', 0),
      timeseries(
        3,
        'p95 latency by route',
        `histogram_quantile(0.95, sum by (le, route) (rate(${API_METRICS.httpDuration}_bucket{${sel}}[5m])))`,
        's',
        8,
      ),
      timeseries(4, 'Predictions by variant', `sum by (variant) (rate(${API_METRICS.predictions}{${sel}}[5m]))`, 'ops', 8),
    ]),
  ];
}

export function consumerDashboards(t: ContentTarget): Dashboard[] {
  const sel = `job="${t.job}",namespace="${t.namespace}"`;
  return [
    dashboard('volwatch-consumer', 'Volwatch / Stream consumer', [
      timeseries(1, 'Messages processed', `sum(rate(${CONSUMER_METRICS.processed}{${sel}}[5m]))`, 'ops', 0),
      timeseries(2, 'Offset lag by topic', `sum by (topic) (${CONSUMER_LAG_RECORD}{${sel}})`, 'short', 0),
      timeseries(3, 'Predictions by variant', `sum by (variant) (rate(${CONSUMER_METRICS.predictions}{${sel}}[5m]))`, 'ops', 8),
      timeseries(4, 'Errors by type', `sum by (type) (rate(${CONSUMER_METRICS.errors}{${sel}}[5m]))`, 'ops', 8),
    ]),
  ];
}
