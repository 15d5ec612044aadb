import * as common from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, QueryVariableBuilder, RowBuilder, ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { API_METRICS, LATENCY_SLO_SECONDS } from '../services/api/metrics';
import { CONSUMER_METRICS } from '../services/consumer/metrics';
import { API_DRIFT_METRICS, CONSUMER_DRIFT_METRICS } from './alerts';
import { BROKER_METRICS } from './kafka-metrics';
import { DATASOURCE_UID, type Dashboard } from './service-monitoring';
import { FRESHNESS_SLO_SECONDS, promLe } from './slo';

/**
 * The four dashboards, as code with Grafana's foundation SDK: Overview (API), Model,
 * Consumer and broker, SLOs. Every metric name comes from the services' constants; every
 * query filters on the namespace, job and pod template variables.
 */
export const DASHBOARD_UIDS = { overview: 'volwatch-overview', model: 'volwatch-model', consumer: 'volwatch-consumer', slo: 'volwatch-slo' } as const;

/** prom-client's default runtime metrics (both services register them). */
export const RUNTIME_METRICS = {
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
  cpu: 'process_cpu_seconds_total',
  residentMemory: 'process_resident_memory_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
} as const;

export interface DashboardTargets {
  /** Jobs (Service names) of the API, the consumer and the broker's exporter. */
  readonly api: string;
  readonly consumer: string;
  readonly broker: string;
}

const ds = { type: 'prometheus', uid: DATASOURCE_UID };
/** Selector of the dashboard's template variables. */
const SEL = 'namespace="$namespace",job=~"$job",pod=~"$pod"';
const RATE = '$__rate_interval';

function q(expr: string, legend = '__auto', refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).datasource(ds);
}

function ts(title: string, unit: string, queries: DataqueryBuilder[], w = 12): TimeseriesPanel {
  const p = new TimeseriesPanel().title(title).unit(unit).datasource(ds).height(8).span(w).lineWidth(1).fillOpacity(10);
  queries.forEach((x, i) => p.withTarget(x.refId(String.fromCharCode(65 + i))));
  return p;
}

/** A timeseries with horizontal threshold lines (SLO lines). */
function withLines(p: TimeseriesPanel, lines: number[]): TimeseriesPanel {
  const steps = [{ value: null as unknown as number, color: 'transparent' }, ...lines.map((value) => ({ value, color: 'red' }))];
  return p.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps)).thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
}

function variables(b: DashboardBuilder, jobRegex: string, defaultJob: string, pod = true): DashboardBuilder {
  const v = (name: string, query: string, current?: string) => {
    const x = new QueryVariableBuilder(name).label(name).datasource(ds).query(query).refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc);
    if (current) x.current({ text: current, value: current });
    return x;
  };
  b.withVariable(v('namespace', 'label_values(up, namespace)', 'volwatch'));
  b.withVariable(v('job', `label_values(up{namespace="$namespace",job=~"${jobRegex}"}, job)`, defaultJob).multi(true).includeAll(true).allValue(jobRegex));
  if (pod) b.withVariable(v('pod', 'label_values(up{namespace="$namespace",job=~"$job"}, pod)').multi(true).includeAll(true).allValue('.*').current({ text: 'All', value: '$__all' }));
  return b;
}

function dashboard(uid: string, title: string): DashboardBuilder {
  return new DashboardBuilder(title).uid(uid).tags(['volwatch']).editable().time({ from: 'now-1h', to: 'now' }).refresh('30s').timezone('browser');
}

function overview(t: DashboardTargets): DashboardBuilder {
  const h = API_METRICS.httpDuration;
  const predict = `${SEL},route="/predict"`;
  const quantile = (p: number) => q(`histogram_quantile(${p}, sum by (le) (rate(${h}_bucket{${predict}}[${RATE}])))`, `p${Math.round(p * 100)}`);
  return variables(dashboard(DASHBOARD_UIDS.overview, 'Volwatch / Overview'), `${t.api}`, t.api)
    .withRow(new RowBuilder('Requests'))
    .withPanel(ts('Request rate by route and status', 'reqps', [q(`sum by (route, status) (rate(${API_METRICS.httpRequests}{${SEL}}[${RATE}]))`, '{{route}} {{status}}')]))
    .withPanel(
      ts('Error % of /predict (5xx)', 'percentunit', [
        q(`sum(rate(${API_METRICS.httpRequests}{${predict},status=~"5.."}[${RATE}])) / sum(rate(${API_METRICS.httpRequests}{${predict}}[${RATE}]))`, '5xx share'),
      ]),
    )
    .withPanel(withLines(ts('/predict latency (SLO lines: 100 ms, 800 ms)', 's', [quantile(0.5), quantile(0.95), quantile(0.99)]), [LATENCY_SLO_SECONDS.fast, LATENCY_SLO_SECONDS.acceptable]))
    .withPanel(ts('In-flight requests', 'short', [q(`sum by (pod) (${API_METRICS.httpInFlight}{${SEL}})`, '{{pod}}')]))
    .withRow(new RowBuilder('Runtime'))
    .withPanel(ts('Event-loop lag p99', 's', [q(`max by (pod) (${RUNTIME_METRICS.eventLoopLagP99}{${SEL}})`, '{{pod}}')], 8))
    .withPanel(ts('CPU', 'percentunit', [q(`sum by (pod) (rate(${RUNTIME_METRICS.cpu}{${SEL}}[${RATE}]))`, '{{pod}}')], 8))
    .withPanel(ts('Resident memory', 'bytes', [q(`sum by (pod) (${RUNTIME_METRICS.residentMemory}{${SEL}})`, '{{pod}}')], 8));
}

function model(t: DashboardTargets): DashboardBuilder {
  const api = (m: string) => `${m}{${SEL},job="${t.api}"}`;
  const consumer = (m: string) => `${m}{${SEL},job="${t.consumer}"}`;
  return variables(dashboard(DASHBOARD_UIDS.model, 'Volwatch / Model'), `${t.api}|${t.consumer}`, '$__all')
    .withRow(new RowBuilder('Predictions'))
    .withPanel(
      ts('Predictions by variant', 'ops', [
        q(`sum by (variant) (rate(${api(API_METRICS.predictions)}[${RATE}]))`, 'API {{variant}}'),
        q(`sum by (variant) (rate(${consumer(CONSUMER_METRICS.predictions)}[${RATE}]))`, 'consumer {{variant}}'),
      ]),
    )
    .withPanel(
      ts('Model in service (pods per variant and version; a rollback shows as a step)', 'short', [
        q(`count by (variant, version) (${api(API_METRICS.modelInfo)} == 1)`, 'API {{variant}} {{version}}'),
        q(`count by (variant, version) (${consumer(CONSUMER_METRICS.modelInfo)} == 1)`, 'consumer {{variant}} {{version}}'),
      ]),
    )
    .withPanel(
      new HeatmapPanel()
        .title('Predicted probability distribution (API)')
        .datasource(ds)
        .height(8)
        .span(12)
        .withTarget(q(`sum by (le) (rate(${API_METRICS.probability}_bucket{${SEL},job="${t.api}"}[${RATE}]))`, '{{le}}').format(PromQueryFormat.Heatmap)),
    )
    .withPanel(
      ts('Share predicted as a spike (p > 0.5)', 'percentunit', [
        q(`1 - sum(rate(${API_METRICS.probability}_bucket{${SEL},job="${t.api}",le="${promLe(0.5)}"}[${RATE}])) / sum(rate(${API_METRICS.probability}_count{${SEL},job="${t.api}"}[${RATE}]))`, 'API'),
      ]),
    )
    .withRow(new RowBuilder('Drift'))
    .withPanel(
      ts('Out-of-distribution inputs per prediction, by feature and reason', 'percentunit', [
        q(`sum by (feature, reason) (rate(${api(API_METRICS.outOfDistribution)}[${RATE}])) / scalar(sum(rate(${api(API_METRICS.predictions)}[${RATE}])))`, '{{feature}} {{reason}}'),
      ]),
    )
    .withPanel(
      ts('Drift score per feature and method (API)', 'short', [q(`max by (feature, method) (${api(API_DRIFT_METRICS.score)})`, '{{feature}} {{method}}')]),
    )
    .withPanel(
      ts('Drifted share of features', 'percentunit', [
        q(`max(${api(API_DRIFT_METRICS.share)})`, 'API'),
        q(`max(${consumer(CONSUMER_DRIFT_METRICS.share)})`, 'consumer'),
      ]),
    )
    .withPanel(
      ts('Drift score per feature and method (consumer)', 'short', [q(`max by (feature, method) (${consumer(CONSUMER_DRIFT_METRICS.score)})`, '{{feature}} {{method}}')]),
    );
}

function consumerAndBroker(t: DashboardTargets): DashboardBuilder {
  const c = (m: string) => `${m}{${SEL}}`;
  const broker = (m: string) => `${m}{namespace="$namespace",job="${t.broker}"}`;
  return variables(dashboard(DASHBOARD_UIDS.consumer, 'Volwatch / Consumer and broker'), t.consumer, t.consumer)
    .withRow(new RowBuilder('Consumer'))
    .withPanel(
      ts('Throughput', 'ops', [
        q(`sum(rate(${c(CONSUMER_METRICS.consumed)}[${RATE}]))`, 'consumed'),
        q(`sum(rate(${c(CONSUMER_METRICS.processed)}[${RATE}]))`, 'processed'),
        q(`sum(rate(${c(CONSUMER_METRICS.predictions)}[${RATE}]))`, 'predicted'),
      ]),
    )
    .withPanel(
      ts('Offset lag per partition (group, broker view; per owned partition)', 'short', [
        q(`max by (topic, partition) (${c(CONSUMER_METRICS.groupOffsetLag)})`, 'group {{topic}}/{{partition}}'),
        q(`max by (topic, partition) (${c(CONSUMER_METRICS.offsetLag)})`, 'owned {{topic}}/{{partition}}'),
      ]),
    )
    .withPanel(
      withLines(
        ts(`Event-time lag and freshness (SLO line: ${FRESHNESS_SLO_SECONDS} s)`, 's', [
          q(`histogram_quantile(0.99, sum by (le) (rate(${CONSUMER_METRICS.eventLag}_bucket{${SEL}}[${RATE}])))`, 'event-time lag p99'),
          q(`max(${c(CONSUMER_METRICS.eventLagLast)})`, 'newest tick lag'),
          q(`time() - max(${c(CONSUMER_METRICS.lastProcessed)})`, 'since last processed'),
        ]),
        [FRESHNESS_SLO_SECONDS],
      ),
    )
    .withPanel(
      ts('Batch duration p95 and mean batch size', 's', [
        q(`histogram_quantile(0.95, sum by (le) (rate(${CONSUMER_METRICS.batchDuration}_bucket{${SEL}}[${RATE}])))`, 'batch duration p95'),
        q(`sum(rate(${CONSUMER_METRICS.batchSize}_sum{${SEL}}[${RATE}])) / sum(rate(${CONSUMER_METRICS.batchSize}_count{${SEL}}[${RATE}]))`, 'messages per batch (right axis)'),
      ]).overrideByName('messages per batch (right axis)', [
        { id: 'unit', value: 'short' },
        { id: 'custom.axisPlacement', value: 'right' },
      ]),
    )
    .withPanel(
      ts('Errors and dead letters', 'ops', [
        q(`sum by (type) (rate(${c(CONSUMER_METRICS.errors)}[${RATE}]))`, 'error {{type}}'),
        q(`sum by (reason) (rate(${c(CONSUMER_METRICS.deadLettered)}[${RATE}]))`, 'dead-lettered {{reason}}'),
      ]),
    )
    .withPanel(ts('Rebalances and assigned partitions', 'short', [q(`sum(increase(${c(CONSUMER_METRICS.rebalances)}[${RATE}]))`, 'rebalances'), q(`sum by (pod) (${c(CONSUMER_METRICS.assignedPartitions)})`, 'assigned {{pod}}')]))
    .withRow(new RowBuilder('Consumer state'))
    .withPanel(
      ts('Tracked products and evictions', 'short', [
        q(`sum(${c(CONSUMER_METRICS.trackedProducts)})`, 'tracked products'),
        q(`sum by (reason) (increase(${c(CONSUMER_METRICS.productEvictions)}[${RATE}]))`, 'evicted ({{reason}})'),
      ], 8),
    )
    .withPanel(
      ts('Restores after rebalances', 's', [
        q(`histogram_quantile(0.95, sum by (le) (rate(${CONSUMER_METRICS.restoreDuration}_bucket{${SEL}}[${RATE}])))`, 'restore p95'),
        q(`sum(${c(CONSUMER_METRICS.restoringPartitions)})`, 'partitions restoring (right axis)'),
      ], 8).overrideByName('partitions restoring (right axis)', [
        { id: 'unit', value: 'short' },
        { id: 'custom.axisPlacement', value: 'right' },
      ]),
    )
    .withPanel(
      ts('Sequence anomalies and incomplete-window predictions', 'ops', [
        q(`sum by (kind) (rate(${c(CONSUMER_METRICS.sequenceAnomalies)}[${RATE}]))`, 'sequence {{kind}}'),
        q(`sum(rate(${c(CONSUMER_METRICS.incompleteWindow)}[${RATE}]))`, 'incomplete window'),
      ], 8),
    )
    .withRow(new RowBuilder('Broker'))
    .withPanel(
      ts('Broker health', 'short', [
        q(`sum(up{namespace="$namespace",job="${t.broker}"})`, 'brokers up'),
        q(`max(${broker(BROKER_METRICS.offlinePartitions)})`, 'offline partitions'),
        q(`max(${broker(BROKER_METRICS.underReplicatedPartitions)})`, 'under-replicated partitions'),
      ], 8),
    )
    .withPanel(ts('Messages in by topic', 'ops', [q(`sum by (topic) (rate(${broker(BROKER_METRICS.messagesIn)}[${RATE}]))`, '{{topic}}')], 8))
    .withPanel(
      ts('Ticks appended vs offset commits', 'ops', [
        q(`sum(deriv(${BROKER_METRICS.logEndOffset}{namespace="$namespace",job="${t.broker}",topic="ticks"}[${RATE}]))`, 'ticks appended'),
        q(`sum(rate(${broker(BROKER_METRICS.offsetCommits)}[${RATE}]))`, 'offset commits'),
      ], 8),
    );
}

function slos(t: DashboardTargets): DashboardBuilder {
  const s = 'namespace="$namespace",sloth_service=~"$job"';
  const burn = (w: string) => q(`max by (sloth_id) (slo:sli_error:ratio_rate${w}{${s}}) / on (sloth_id) group_left () max by (sloth_id) (slo:error_budget:ratio{${s}})`, `{{sloth_id}} ${w}`);
  return variables(dashboard(DASHBOARD_UIDS.slo, 'Volwatch / SLOs'), `${t.api}|${t.consumer}`, '$__all', false)
    .withPanel(withLines(ts('Burn rate per window (lines: 1x, 6x, 14.4x)', 'short', [burn('5m'), burn('1h'), burn('6h'), burn('3d')]), [1, 6, 14.4]))
    .withPanel(
      new StatPanel()
        .title('Error budget remaining (30 days)')
        .datasource(ds)
        .unit('percentunit')
        .height(8)
        .span(12)
        .withTarget(q(`max by (sloth_id) (slo:period_error_budget_remaining:ratio{${s}})`, '{{sloth_id}}')),
    )
    .withPanel(ts('SLI error ratio (5m) and objective', 'percentunit', [q(`max by (sloth_id) (slo:sli_error:ratio_rate5m{${s}})`, '{{sloth_id}}'), q(`max by (sloth_id) (slo:error_budget:ratio{${s}})`, '{{sloth_id}} budget')]))
    .withPanel(
      new TablePanel()
        .title('Firing alerts')
        .datasource(ds)
        .height(8)
        .span(12)
        .withTarget(q('sum by (alertname, severity, job, sloth_id) (ALERTS{namespace="$namespace",alertstate="firing"})', '{{alertname}}').instant().format(PromQueryFormat.Table)),
    );
}

/** The dashboards as plain JSON models (the ConfigMaps hold them). */
export function volwatchDashboards(t: DashboardTargets): { overview: Dashboard; model: Dashboard; consumer: Dashboard; slo: Dashboard } {
  const build = (b: DashboardBuilder) => JSON.parse(JSON.stringify(b.build())) as Dashboard;
  return { overview: build(overview(t)), model: build(model(t)), consumer: build(consumerAndBroker(t)), slo: build(slos(t)) };
}
