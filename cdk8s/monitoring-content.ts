import { API_METRICS } from '../services/api/metrics';
import { CONSUMER_METRICS } from '../services/consumer/metrics';
import { DATASOURCE_UID, type Dashboard, type Rule, type RuleGroup } from './service-monitoring';

/**
 * Minimal, correct rule groups and dashboards; the SLO and dashboards work
 * replaces these. Metric names come from the services' own constants so a
 * rename cannot silently break an alert.
 */
export interface ContentTarget {
  /** Prometheus `job` label: the Service name. */
  readonly job: string;
  readonly namespace: string;
}

const ds = { type: 'prometheus', uid: DATASOURCE_UID } as const;

function targetDownAlert(alert: string, t: ContentTarget, what: string): Rule {
  return {
    alert,
    // absent(...== 1) also fires when every target disappeared from discovery.
    expr: `absent(up{job="${t.job}",namespace="${t.namespace}"} == 1)`,
    for: '5m',
    // absent() cannot carry labels from a comparison, so name the target explicitly for routing.
    labels: { severity: 'critical', job: t.job, namespace: t.namespace },
    annotations: {
      summary: `No ${what} target is up`,
      description: `Prometheus has scraped no healthy ${t.job} target in namespace ${t.namespace} for 5 minutes.`,
    },
  };
}

export function apiRuleGroups(t: ContentTarget): RuleGroup[] {
  const sel = `job="${t.job}",namespace="${t.namespace}"`;
  return [
    {
      name: 'volwatch-api.rules',
      interval: '30s',
      rules: [
        {
          record: 'volwatch:http_requests:error_ratio_rate5m',
          expr: `sum(rate(${API_METRICS.httpRequests}{${sel},status=~"5.."}[5m])) / sum(rate(${API_METRICS.httpRequests}{${sel}}[5m]))`,
        },
        targetDownAlert('VolwatchApiDown', t, 'prediction API'),
      ],
    },
  ];
}

export function consumerRuleGroups(t: ContentTarget): RuleGroup[] {
  const sel = `job="${t.job}",namespace="${t.namespace}"`;
  return [
    {
      name: 'volwatch-consumer.rules',
      interval: '30s',
      rules: [
        { record: 'volwatch:consumer_messages_processed:rate5m', expr: `sum(rate(${CONSUMER_METRICS.processed}{${sel}}[5m]))` },
        { record: 'volwatch:consumer_offset_lag:sum', expr: `sum by (topic) (${CONSUMER_METRICS.offsetLag}{${sel}})` },
        targetDownAlert('VolwatchConsumerDown', t, 'stream consumer'),
      ],
    },
  ];
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
      timeseries(2, 'Error ratio (5xx)', 'volwatch:http_requests:error_ratio_rate5m', 'percentunit', 0),
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
      timeseries(1, 'Messages processed', 'volwatch:consumer_messages_processed:rate5m', 'ops', 0),
      timeseries(2, 'Offset lag by topic', 'volwatch:consumer_offset_lag:sum', 'short', 0),
      timeseries(3, 'Predictions by variant', `sum by (variant) (rate(${CONSUMER_METRICS.predictions}{${sel}}[5m]))`, 'ops', 8),
      timeseries(4, 'Errors by type', `sum by (type) (rate(${CONSUMER_METRICS.errors}{${sel}}[5m]))`, 'ops', 8),
    ]),
  ];
}
