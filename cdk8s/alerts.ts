import { API_METRICS } from '../services/api/metrics';
import { CONSUMER_METRICS } from '../services/consumer/metrics';
import { driftMetricNames } from '../services/core/drift/monitor';
import { check } from './common';
import { BROKER_METRICS } from './kafka-metrics';
import type { Rule, RuleGroup } from './service-monitoring';
import { runbookUrl, sloDefinitions, type SloTargets } from './slo';

/** Drift metric names of each service (the prefixes they pass to the drift monitor). */
export const API_DRIFT_METRICS = driftMetricNames('volwatch_');
export const CONSUMER_DRIFT_METRICS = driftMetricNames('volwatch_consumer_');

export type Severity = 'critical' | 'warning' | 'info';

/** Thresholds of the symptom alerts; each is documented in docs/runbook.md. */
export interface AlertThresholds {
  /** docs/runbook.md as a URL; `#<alertname>` is appended. */
  readonly runbookBaseUrl: string;
  /** p95 of /predict above this many seconds for 10 minutes. @default 0.8 */
  readonly apiP95Seconds: number;
  /** 5xx share of /predict above this ratio for 5 minutes. @default 0.01 */
  readonly apiErrorRatio: number;
  /** Fewer /predict requests per second than this for 30 minutes (info); undefined disables. @default 10 */
  readonly apiTrafficFloor: number | undefined;
  /** p99 event-loop lag of a pod above this many seconds for 10 minutes. @default 0.2 */
  readonly eventLoopLagSeconds: number;
  /** No processed message for this many seconds. @default 60 */
  readonly freshnessSeconds: number;
  /**
   * One feature's PSI against the training reference at or above this for 15 minutes
   * (VolwatchFeatureDrift). PSI 0.2 is a "major" shift and counts the feature as drifted for
   * the dataset verdict; an hour of normal traffic reaches 0.52 at most, the weakest injected
   * single-feature drift measured (size x2) 5 (docs/drift.md, "Calibration"). @default 1
   */
  readonly featureDriftPsi: number;
}

export const DEFAULT_THRESHOLDS: Omit<AlertThresholds, 'runbookBaseUrl'> = {
  apiP95Seconds: 0.8,
  apiErrorRatio: 0.01,
  apiTrafficFloor: 10,
  eventLoopLagSeconds: 0.2,
  freshnessSeconds: 60,
  featureDriftPsi: 1,
};

export function checkThresholds(t: AlertThresholds): void {
  check(/^https?:\/\/\S+$/.test(t.runbookBaseUrl) && !t.runbookBaseUrl.includes('#'), `runbookBaseUrl ${JSON.stringify(t.runbookBaseUrl)} must be an http(s) URL of docs/runbook.md without a #fragment`);
  for (const k of ['apiP95Seconds', 'apiErrorRatio', 'eventLoopLagSeconds', 'freshnessSeconds', 'featureDriftPsi'] as const) {
    check(Number.isFinite(t[k]) && t[k] > 0, `alert threshold ${k} must be a positive number, got ${t[k]}`);
  }
  check(t.apiErrorRatio < 1, `alert threshold apiErrorRatio must be below 1 (a ratio), got ${t.apiErrorRatio}`);
  check(t.apiTrafficFloor === undefined || (Number.isFinite(t.apiTrafficFloor) && t.apiTrafficFloor > 0), `apiTrafficFloor must be a positive number of requests per second, or undefined to disable the alert; got ${t.apiTrafficFloor}`);
}

interface AlertSpec {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: Severity;
  readonly labels?: Readonly<Record<string, string>>;
  readonly summary: string;
  /** Go template; `{{ $value }}` is the observed value. */
  readonly description: string;
}

function alert(a: AlertSpec, t: AlertThresholds): Rule {
  return {
    alert: a.alert,
    expr: a.expr,
    ...(a.for ? { for: a.for } : {}),
    labels: { severity: a.severity, ...a.labels },
    annotations: { summary: a.summary, description: a.description, runbook_url: runbookUrl(t.runbookBaseUrl, a.alert) },
  };
}

function selector(job: string, namespace: string): string {
  return `job="${job}",namespace="${namespace}"`;
}

// absent(...== 1) also fires when every target disappeared from discovery; absent()
// cannot carry labels from a comparison, so the target is named for routing.
function targetDown(name: string, job: string, namespace: string, what: string, t: AlertThresholds): Rule {
  return alert(
    {
      alert: name,
      expr: `absent(up{${selector(job, namespace)}} == 1)`,
      for: '5m',
      severity: 'critical',
      labels: { job, namespace },
      summary: `No ${what} target is up`,
      description: `Prometheus has scraped no healthy ${job} target in namespace ${namespace} for 5 minutes.`,
    },
    t,
  );
}

/** A Sloth SLI whose inputs are gone (renamed metric, broken relabelling, every target lost). */
function sliMissing(targets: SloTargets, service: 'api' | 'consumer', t: AlertThresholds): Rule[] {
  return sloDefinitions(targets)
    .filter((s) => s.service === targets[service])
    .map((s) =>
      alert(
        {
          alert: 'VolwatchSloSliMissing',
          expr: `absent(slo:sli_error:ratio_rate5m{sloth_id="${s.service}-${s.name}",sloth_service="${s.service}",sloth_slo="${s.name}"})`,
          for: '10m',
          severity: 'warning',
          labels: { namespace: targets.namespace, sloth_id: `${s.service}-${s.name}` },
          summary: `The ${s.name} SLI of ${s.service} has no data`,
          description: `slo:sli_error:ratio_rate5m of ${s.service}-${s.name} has been absent for 10 minutes: the SLO and its burn-rate alerts are blind. Its inputs (${s.errorEvents}; ${s.totalEvents}) are not scraped.`,
        },
        t,
      ),
    );
}

/** Model-serving alerts shared by both services (same names, told apart by `job`). */
function modelAlerts(job: string, namespace: string, m: { modelInfo: string; fallback: string; loadFailures?: string }, drift: ReturnType<typeof driftMetricNames>, t: AlertThresholds): Rule[] {
  const sel = selector(job, namespace);
  // Inside a Go template string: PromQL's single quotes.
  const q = `job='${job}',namespace='${namespace}'`;
  const by = 'namespace, job';
  const rules: Rule[] = [
    alert(
      {
        alert: 'VolwatchModelFallbackActive',
        expr: `max by (${by}, instance) (${m.fallback}{${sel}}) == 1`,
        for: '5m',
        severity: 'warning',
        summary: `${job} serves the baseline because the ML model failed to load`,
        description: `{{ $labels.instance }} of ${job} has served the baseline in place of the requested ML model for 5 minutes: the ML artifacts could not be loaded.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchBaselineModelServing',
        expr: `count by (${by}, variant, version) (${m.modelInfo}{${sel},variant="baseline"} == 1)`,
        for: '1m',
        severity: 'info',
        summary: `${job} serves the baseline model`,
        description: `{{ $value }} pod(s) of ${job} serve the baseline variant (version {{ $labels.version }}): a rollback or a fallback is in effect.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchDatasetDrift',
        expr: `max by (${by}) (${drift.share}{${sel}}) and on (${by}) (max by (${by}) (${drift.dataset}{${sel}}) == 1)`,
        for: '15m',
        severity: 'warning',
        summary: `Inputs of ${job} have drifted from the training data`,
        description: `{{ $value | humanizePercentage }} of the features ${job} scores have drifted from the model's training reference for 15 minutes (dataset drift: at least DRIFT_SHARE of them, 0.5 by default, each past its drift test, PSI >= 0.2 by default; see ${drift.detected}).`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchFeatureDrift',
        // PSI, not drift_detected: a single feature's 0.2 ("major shift") comes and goes with the
        // market's regimes; the alert asks for a level an hour of normal traffic never reaches.
        expr: `max by (${by}, feature) (${drift.score}{${sel},method="psi"}) >= ${t.featureDriftPsi}`,
        for: '15m',
        severity: 'warning',
        summary: `Feature {{ $labels.feature }} of ${job} has drifted far from the training data`,
        description: `The PSI of feature {{ $labels.feature }} in ${job} against the training reference has been {{ $value | printf "%.2f" }} for 15 minutes (alert at >= ${t.featureDriftPsi}; 0.2 is a major shift); normalized Wasserstein distance {{ with printf "max(${drift.score}{${q},feature='%s',method='wasserstein'})" $labels.feature | query }}{{ . | first | value | printf "%.3f" }}{{ end }}.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchEventLoopLagHigh',
        expr: `max by (${by}, instance) (nodejs_eventloop_lag_p99_seconds{${sel}}) > ${t.eventLoopLagSeconds}`,
        for: '10m',
        severity: 'warning',
        summary: `The event loop of ${job} lags`,
        description: `The p99 event-loop lag of {{ $labels.instance }} (${job}) has been {{ $value | humanizeDuration }} for 10 minutes (threshold ${t.eventLoopLagSeconds}s): the pod is CPU-starved or blocked.`,
      },
      t,
    ),
  ];
  // Same alert names in both PrometheusRules: the static job label keeps each rule distinct.
  for (const r of rules) r.labels = { ...r.labels, job };
  if (m.loadFailures) {
    rules.push(
      alert(
        {
          alert: 'VolwatchModelLoadFailures',
          expr: `sum by (${by}, variant) (increase(${m.loadFailures}{${sel}}[15m])) > 0`,
          severity: 'warning',
          summary: `${job} failed to load model {{ $labels.variant }}`,
          description: `${job} failed to load the {{ $labels.variant }} model {{ $value | printf "%.0f" }} time(s) in the last 15 minutes.`,
        },
        t,
      ),
    );
  }
  return rules;
}

export function apiAlertGroups(targets: SloTargets, t: AlertThresholds): RuleGroup[] {
  checkThresholds(t);
  const job = targets.api;
  const ns = targets.namespace;
  const predict = `${selector(job, ns)},route="/predict"`;
  const by = 'namespace, job';
  const rules: Rule[] = [
    targetDown('VolwatchApiDown', job, ns, 'prediction API', t),
    alert(
      {
        alert: 'VolwatchApiHighErrorRate',
        expr: `sum by (${by}) (rate(${API_METRICS.httpRequests}{${predict},status=~"5.."}[5m])) / sum by (${by}) (rate(${API_METRICS.httpRequests}{${predict}}[5m])) > ${t.apiErrorRatio}`,
        for: '5m',
        severity: 'warning',
        summary: 'The prediction API answers /predict with 5xx errors',
        description: `{{ $value | humanizePercentage }} of /predict requests to ${job} failed with a 5xx status over the last 5 minutes (threshold ${t.apiErrorRatio * 100}%).`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchApiHighLatency',
        expr: `histogram_quantile(0.95, sum by (${by}, le) (rate(${API_METRICS.httpDuration}_bucket{${predict}}[5m]))) > ${t.apiP95Seconds}`,
        for: '10m',
        severity: 'warning',
        summary: 'The prediction API is slow',
        description: `The p95 latency of /predict on ${job} has been {{ $value | humanizeDuration }} for 10 minutes (threshold ${t.apiP95Seconds * 1000} ms).`,
      },
      t,
    ),
    ...modelAlerts(job, ns, { modelInfo: API_METRICS.modelInfo, fallback: API_METRICS.fallback, loadFailures: API_METRICS.modelLoadFailures }, API_DRIFT_METRICS, t),
    ...sliMissing(targets, 'api', t),
  ];
  if (t.apiTrafficFloor !== undefined) {
    rules.push(
      alert(
        {
          alert: 'VolwatchApiLowTraffic',
          expr: `sum by (${by}) (rate(${API_METRICS.httpRequests}{${predict}}[5m])) < ${t.apiTrafficFloor}`,
          for: '30m',
          severity: 'info',
          summary: 'The prediction API gets less traffic than expected',
          description: `${job} has served {{ $value | printf "%.2f" }} /predict requests per second for 30 minutes, below the expected floor of ${t.apiTrafficFloor}/s: callers may be failing before they reach it.`,
        },
        t,
      ),
    );
  }
  return [{ name: 'volwatch-api.alerts', interval: '30s', rules }];
}

/**
 * The group's lag, summed over partitions: the broker's view (committed offsets) that every
 * member reports for every partition of the topic, so `max` per partition counts each once.
 */
export const CONSUMER_LAG_RECORD = 'volwatch:consumer_offset_lag:sum';

export function consumerAlertGroups(targets: SloTargets, t: AlertThresholds): RuleGroup[] {
  checkThresholds(t);
  const job = targets.consumer;
  const ns = targets.namespace;
  const sel = selector(job, ns);
  const by = 'namespace, job';
  const lag = `${CONSUMER_LAG_RECORD}{${sel}}`;
  const rules: Rule[] = [
    {
      record: CONSUMER_LAG_RECORD,
      expr: `sum by (${by}, consumergroup, topic) (max by (${by}, consumergroup, topic, partition) (${CONSUMER_METRICS.groupOffsetLag}{${sel}}))`,
    },
    targetDown('VolwatchConsumerDown', job, ns, 'stream consumer', t),
    alert(
      {
        alert: 'VolwatchConsumerLagGrowing',
        expr: `${lag} > 0 and deriv(${lag}[5m]) > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'The stream consumer falls behind',
        description: `Offset lag of group {{ $labels.consumergroup }} on {{ $labels.topic }} has grown for 10 minutes and is {{ $value | printf "%.0f" }} messages: ticks arrive faster than they are predicted.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchConsumerStalled',
        expr: `${lag} > 0 and on (${by}) (sum by (${by}) (increase(${CONSUMER_METRICS.processed}{${sel}}[5m])) == 0)`,
        for: '5m',
        severity: 'critical',
        summary: 'The stream consumer has stopped making progress',
        description: `Group {{ $labels.consumergroup }} has {{ $value | printf "%.0f" }} messages of {{ $labels.topic }} waiting and has processed none for 10 minutes.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchConsumerStale',
        // last_over_time: a consumer that died or froze stops being scraped, and its last
        // timestamp must keep ageing instead of vanishing.
        expr: `time() - max by (${by}) (last_over_time(${CONSUMER_METRICS.lastProcessed}{${sel}}[1h]) > 0) > ${t.freshnessSeconds}`,
        for: '1m',
        severity: 'warning',
        summary: 'No tick has been predicted recently',
        description: `${job} last processed a message {{ $value | humanizeDuration }} ago (threshold ${t.freshnessSeconds}s): predictions are stale.`,
      },
      t,
    ),
    alert(
      {
        alert: 'VolwatchConsumerDeadLetters',
        expr: `sum by (${by}) (rate(${CONSUMER_METRICS.deadLettered}{${sel}}[5m])) > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Ticks are being dead-lettered',
        description: `${job} has sent {{ $value | printf "%.2f" }} messages per second to the dead-letter topic for 10 minutes: upstream sends ticks it cannot parse or validate.`,
      },
      t,
    ),
    ...modelAlerts(job, ns, { modelInfo: CONSUMER_METRICS.modelInfo, fallback: CONSUMER_METRICS.fallback }, CONSUMER_DRIFT_METRICS, t),
    ...sliMissing(targets, 'consumer', t),
  ];
  return [{ name: 'volwatch-consumer.alerts', interval: '30s', rules }];
}

export interface BrokerTargets {
  readonly job: string;
  readonly namespace: string;
  /** The topic the consumer group reads. */
  readonly ticksTopic: string;
}

export function brokerAlertGroups(b: BrokerTargets, t: AlertThresholds): RuleGroup[] {
  checkThresholds(t);
  const sel = selector(b.job, b.namespace);
  const by = 'namespace, job';
  return [
    {
      name: 'volwatch-kafka.alerts',
      interval: '30s',
      rules: [
        targetDown('VolwatchKafkaBrokerDown', b.job, b.namespace, 'Kafka broker', t),
        alert(
          {
            alert: 'VolwatchKafkaOfflinePartitions',
            expr: `max by (${by}) (${BROKER_METRICS.offlinePartitions}{${sel}}) > 0`,
            for: '1m',
            severity: 'critical',
            summary: 'Kafka partitions have no leader',
            description: `{{ $value | printf "%.0f" }} partition(s) have had no active leader for a minute: producers and consumers of them are blocked.`,
          },
          t,
        ),
        alert(
          {
            // Needs nothing from the consumer: a dead or frozen consumer reports nothing.
            alert: 'VolwatchKafkaConsumerGroupStalled',
            expr: `sum by (${by}, topic) (delta(${BROKER_METRICS.logEndOffset}{${sel},topic="${b.ticksTopic}"}[10m])) > 0 and on (${by}) (sum by (${by}) (increase(${BROKER_METRICS.offsetCommits}{${sel}}[10m])) == 0)`,
            for: '5m',
            severity: 'critical',
            summary: `${b.ticksTopic} grows but no consumer group commits`,
            description: `{{ $value | printf "%.0f" }} messages were appended to {{ $labels.topic }} in the last 10 minutes while the broker accepted no offset commit: the consumer group is dead, frozen or stuck.`,
          },
          t,
        ),
      ],
    },
  ];
}
