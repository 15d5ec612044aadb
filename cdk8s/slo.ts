import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { API_METRICS, LATENCY_SLO_SECONDS, HTTP_DURATION_BUCKETS } from '../services/api/metrics';
import { CONSUMER_METRICS, EVENT_LAG_BUCKETS } from '../services/consumer/metrics';
import { check } from './common';
import type { Rule, RuleGroup } from './service-monitoring';

/**
 * The SLOs, as data. `npm run generate` renders them as a Sloth `prometheus/v1` spec
 * (cdk8s/generated/slos.sloth.yaml), runs the real Sloth on it and commits its output
 * (cdk8s/generated/slo-rules.yaml); synthesize() puts that output into the
 * PrometheusRules, and docs/slo.md is rendered from the same list.
 */

/** Where the generated files live; tests regenerate them and compare. */
export const GENERATED_DIR = path.resolve(__dirname, 'generated');
export const SLOTH_SPEC_FILE = 'slos.sloth.yaml';
export const SLO_RULES_FILE = 'slo-rules.yaml';

/** The deployment the committed Sloth output was generated for (synthesize()'s defaults). */
export const REFERENCE_TARGETS = {
  namespace: 'volwatch',
  api: 'volwatch-api',
  consumer: 'volwatch-consumer',
} as const;

/** docs/runbook.md of the project: the default base of every runbook_url. */
export const DEFAULT_RUNBOOK_URL = 'https://github.com/volwatch/volwatch/blob/main/docs/runbook.md';

export const FRESHNESS_SLO_SECONDS = 30;

/** The 30-day window of every SLO (Sloth's default period and Google's SRE workbook windows). */
export const SLO_PERIOD_DAYS = 30;

/** Multi-window multi-burn-rate alerting, as Sloth generates it for a 30-day period. */
export const BURN_RATE_WINDOWS = {
  page: [
    { burnRate: 14.4, longWindow: '1h', shortWindow: '5m' },
    { burnRate: 6, longWindow: '6h', shortWindow: '30m' },
  ],
  ticket: [
    { burnRate: 3, longWindow: '1d', shortWindow: '2h' },
    { burnRate: 1, longWindow: '3d', shortWindow: '6h' },
  ],
} as const;

export interface SloDefinition {
  /** `sloth_service`: the job the SLI is read from. */
  readonly service: string;
  /** `sloth_slo`. */
  readonly name: string;
  /** Percent of good events, (0, 100). */
  readonly objective: number;
  /** One line: what is promised. */
  readonly description: string;
  /** Why this SLO and this objective (docs/slo.md). */
  readonly reason: string;
  /** What counts as a bad event and what counts as an event, in words (docs/slo.md). */
  readonly errorEvents: string;
  readonly totalEvents: string;
  /** PromQL with `{{.window}}` for the range (Sloth's template variable). */
  readonly errorQuery: string;
  readonly totalQuery: string;
  /** Name of the page and ticket alerts Sloth generates. */
  readonly alertName: string;
  /** Dashboard uid to open first (docs/runbook.md). */
  readonly dashboard: string;
}

export interface SloTargets {
  readonly namespace: string;
  /** Prometheus `job` of the API and of the consumer: their Service names. */
  readonly api: string;
  readonly consumer: string;
}

/**
 * Prometheus 3 stores the `le` label of classic histograms normalized to a float text
 * (a scrape of `le="30"` is stored as `le="30.0"`), so selectors must use that form.
 */
export function promLe(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds}.0` : String(seconds);
}

/**
 * Denominators read 1 when there is no traffic, so a quiet service has an error ratio of
 * 0 instead of NaN (0/0), and never pages; when the series themselves are gone the ratio
 * is absent and VolwatchSloSliMissing fires.
 */
function perSecond(expr: string): string {
  return `(${expr} > 0) or on() vector(1)`;
}

export function sloDefinitions(t: SloTargets): SloDefinition[] {
  const api = `job="${t.api}",namespace="${t.namespace}"`;
  const consumer = `job="${t.consumer}",namespace="${t.namespace}"`;
  const predict = `${api},route="/predict"`;
  const fast = LATENCY_SLO_SECONDS.fast;
  check(HTTP_DURATION_BUCKETS.includes(fast), `latency SLO threshold ${fast}s must be a bucket of ${API_METRICS.httpDuration}`);
  check(EVENT_LAG_BUCKETS.includes(FRESHNESS_SLO_SECONDS), `freshness SLO threshold ${FRESHNESS_SLO_SECONDS}s must be a bucket of ${CONSUMER_METRICS.eventLag}`);
  const w = '[{{.window}}]';
  const failureTypes = 'inference_failed|produce_failed|dead_letter_failed';
  return [
    {
      service: t.api,
      name: 'availability',
      objective: 99.9,
      description: '99.9% of POST /predict requests succeed (no 5xx response) over 30 days.',
      reason:
        'A prediction the caller did not get is the failure users notice first. 99.9% leaves 43 minutes of full outage a month, enough for a bad rollout caught by the page alert and rolled back. Only /predict counts: the kubelet probes /health and /ready every few seconds, and counting them would dilute a dead /predict at low traffic (14% errors instead of 100%).',
      errorEvents: 'responses of `/predict` with a 5xx status',
      totalEvents: 'responses of `/predict`',
      errorQuery: `sum(rate(${API_METRICS.httpRequests}{${predict},status=~"5.."}${w}))`,
      totalQuery: perSecond(`sum(rate(${API_METRICS.httpRequests}{${predict}}${w}))`),
      alertName: 'VolwatchApiAvailabilityBudgetBurn',
      dashboard: 'volwatch-slo',
    },
    {
      service: t.api,
      name: 'latency',
      objective: 99,
      description: `99% of POST /predict requests are answered within ${fast * 1000} ms over 30 days.`,
      reason: `The model answers in well under a millisecond and dynamic batching adds at most one event-loop turn, so ${fast * 1000} ms is ample headroom on a healthy pod; beyond it callers on a trading path start to time out. ${fast} s is a bucket boundary of ${API_METRICS.httpDuration}, so the SLI is exact, not interpolated.`,
      errorEvents: `responses of \`/predict\` slower than ${fast} s (all requests minus the \`le="${promLe(fast)}"\` bucket)`,
      totalEvents: 'responses of `/predict`',
      errorQuery: `sum(rate(${API_METRICS.httpDuration}_count{${predict}}${w})) - sum(rate(${API_METRICS.httpDuration}_bucket{${predict},le="${promLe(fast)}"}${w}))`,
      totalQuery: perSecond(`sum(rate(${API_METRICS.httpDuration}_count{${predict}}${w}))`),
      alertName: 'VolwatchApiLatencyBudgetBurn',
      dashboard: 'volwatch-slo',
    },
    {
      service: t.consumer,
      name: 'freshness',
      objective: 99,
      description: `99% of ticks are predicted within ${FRESHNESS_SLO_SECONDS} s of their event time over 30 days.`,
      reason: `A volatility prediction is only useful while the market it describes is still current. ${FRESHNESS_SLO_SECONDS} s covers a consumer restart with state restore and a rebalance; ${FRESHNESS_SLO_SECONDS} s is a bucket boundary of ${CONSUMER_METRICS.eventLag}, so the SLI is exact.`,
      errorEvents: `predicted ticks whose prediction was acknowledged more than ${FRESHNESS_SLO_SECONDS} s after the tick's event time`,
      totalEvents: 'predicted ticks',
      errorQuery: `sum(rate(${CONSUMER_METRICS.eventLag}_count{${consumer}}${w})) - sum(rate(${CONSUMER_METRICS.eventLag}_bucket{${consumer},le="${promLe(FRESHNESS_SLO_SECONDS)}"}${w}))`,
      totalQuery: perSecond(`sum(rate(${CONSUMER_METRICS.eventLag}_count{${consumer}}${w}))`),
      alertName: 'VolwatchConsumerFreshnessBudgetBurn',
      dashboard: 'volwatch-slo',
    },
    {
      service: t.consumer,
      name: 'errors',
      objective: 99,
      description: 'Fewer than 1% of consumed ticks are dead-lettered or fail processing over 30 days.',
      reason:
        'Dead-lettered ticks are never predicted; failed batches are retried but each failure is a message that did not make it the first time. Some malformed input from upstream is normal, a steady 1% means an upstream schema change or a broken model. Failures (inference, produce, dead-letter publish) are counted once per failed batch, so the ratio understates a failure of a large batch; the dead-letter part is exact.',
      errorEvents: `messages published to the dead-letter topic, plus failed inference, produce or dead-letter publish attempts (\`${CONSUMER_METRICS.errors}{type=~"${failureTypes}"}\`)`,
      totalEvents: 'messages consumed from the ticks topic (redeliveries included)',
      errorQuery: `sum(rate(${CONSUMER_METRICS.deadLettered}{${consumer}}${w})) + sum(rate(${CONSUMER_METRICS.errors}{${consumer},type=~"${failureTypes}"}${w}))`,
      totalQuery: perSecond(`sum(rate(${CONSUMER_METRICS.consumed}{${consumer}}${w}))`),
      alertName: 'VolwatchConsumerErrorBudgetBurn',
      dashboard: 'volwatch-slo',
    },
  ];
}

export interface SloAlertOptions {
  /** docs/runbook.md as a URL; `#anchor` is appended. */
  readonly runbookBaseUrl: string;
}

/** GitHub's anchor for a `### Name` heading of docs/runbook.md. */
export function runbookAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

export function runbookUrl(base: string, heading: string): string {
  return `${base}#${runbookAnchor(heading)}`;
}

function pct(objective: number): string {
  return `${Number((100 - objective).toFixed(6))}%`;
}

/** The Sloth `prometheus/v1` spec documents (one per service) for these SLOs. */
export function slothSpec(slos: readonly SloDefinition[], t: SloTargets, o: SloAlertOptions): Record<string, unknown>[] {
  const services = [...new Set(slos.map((s) => s.service))];
  return services.map((service) => ({
    version: 'prometheus/v1',
    service,
    labels: { namespace: t.namespace },
    slos: slos
      .filter((s) => s.service === service)
      .map((s) => ({
        name: s.name,
        objective: s.objective,
        description: s.description,
        sli: { events: { error_query: s.errorQuery, total_query: s.totalQuery } },
        alerting: {
          name: s.alertName,
          annotations: {
            summary: `${service} burns its ${s.name} error budget too fast`,
            runbook_url: runbookUrl(o.runbookBaseUrl, s.alertName),
          },
          page_alert: {
            labels: { severity: 'critical' },
            annotations: {
              description: `The ${s.name} SLO of ${service} (${s.objective}%) is burning its 30-day error budget fast enough to exhaust it in days (14.4x over 1h and 5m, or 6x over 6h and 30m). Error ratio over the short window: {{ $value | humanizePercentage }} (budget: ${pct(s.objective)}).`,
            },
          },
          ticket_alert: {
            labels: { severity: 'warning' },
            annotations: {
              description: `The ${s.name} SLO of ${service} (${s.objective}%) is burning its 30-day error budget faster than it refills (3x over 1d and 2h, or 1x over 3d and 6h). Error ratio over the short window: {{ $value | humanizePercentage }} (budget: ${pct(s.objective)}).`,
            },
          },
        },
      })),
  }));
}

export function slothSpecYaml(slos: readonly SloDefinition[], t: SloTargets, o: SloAlertOptions): string {
  const header = '# Generated by `npm run generate` from cdk8s/slo.ts: the input of Sloth (cdk8s/generated/slo-rules.yaml is its output). Do not edit.\n';
  return header + slothSpec(slos, t, o).map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The rule groups Sloth generated (committed), read once. */
let cachedRules: RuleGroup[] | undefined;
export function generatedSloRuleGroups(): RuleGroup[] {
  if (!cachedRules) {
    const file = path.join(GENERATED_DIR, SLO_RULES_FILE);
    check(fs.existsSync(file), `${file} is missing: run npm run generate`);
    // One YAML document per service of the spec.
    cachedRules = parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((d) => ((d.toJS() as { groups?: RuleGroup[] } | null)?.groups ?? []));
  }
  return cachedRules.map((g) => structuredClone(g));
}

/**
 * Sloth's rules for other Service names or another namespace: the reference output with
 * its selectors and labels moved. The move is an exact token substitution of selectors
 * this module wrote itself; a test runs Sloth for other targets and compares.
 */
export function relocateSloRules(groups: readonly RuleGroup[], to: SloTargets, runbookBaseUrl: string = DEFAULT_RUNBOOK_URL): RuleGroup[] {
  const from = REFERENCE_TARGETS;
  const pairs: [string, string][] = [
    [`job="${from.api}",namespace="${from.namespace}"`, `job="${to.api}",namespace="${to.namespace}"`],
    [`job="${from.consumer}",namespace="${from.namespace}"`, `job="${to.consumer}",namespace="${to.namespace}"`],
  ];
  const services = new Map<string, string>([
    [from.api, to.api],
    [from.consumer, to.consumer],
  ]);
  const idMap = (v: string): string => {
    for (const [a, b] of services) if (v.startsWith(`${a}-`)) return b + v.slice(a.length);
    return v;
  };
  const moveText = (s: string): string => {
    let out = s;
    for (const [a, b] of pairs) out = out.split(a).join(b);
    // Sloth's own selectors: sloth_id="volwatch-api-availability", sloth_service="volwatch-api".
    out = out.replace(/sloth_id="([^"]*)"/g, (_m, v: string) => `sloth_id="${idMap(v)}"`);
    out = out.replace(/sloth_service="([^"]*)"/g, (_m, v: string) => `sloth_service="${services.get(v) ?? v}"`);
    return out;
  };
  const moveLabels = (l: Record<string, string> | undefined): Record<string, string> | undefined => {
    if (!l) return l;
    const out: Record<string, string> = { ...l };
    if (out.namespace !== undefined) out.namespace = to.namespace;
    if (out.sloth_service !== undefined) out.sloth_service = services.get(out.sloth_service) ?? out.sloth_service;
    if (out.sloth_id !== undefined) out.sloth_id = idMap(out.sloth_id);
    return out;
  };
  const moveAnnotations = (a: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = { ...a };
    if (out.runbook_url?.startsWith(`${DEFAULT_RUNBOOK_URL}#`)) out.runbook_url = runbookBaseUrl + out.runbook_url.slice(DEFAULT_RUNBOOK_URL.length);
    for (const k of Object.keys(out)) out[k] = [...services].reduce((v, [a2, b]) => v.split(a2).join(b), out[k]!);
    return out;
  };
  return groups.map((g) => ({
    ...g,
    name: [...services].reduce((n, [a, b]) => n.replace(`-${a}-`, `-${b}-`), g.name),
    rules: (g.rules ?? []).map((r: Rule) => ({
      ...r,
      expr: moveText(String(r.expr)),
      ...(r.labels ? { labels: moveLabels(r.labels as Record<string, string>) } : {}),
      ...(r.annotations ? { annotations: moveAnnotations(r.annotations as Record<string, string>) } : {}),
    })),
  }));
}

/** Sloth's rule groups for one service of these targets (Sloth names them `sloth-slo-*-<service>-<slo>`). */
export function sloRuleGroups(t: SloTargets, service: 'api' | 'consumer', runbookBaseUrl: string = DEFAULT_RUNBOOK_URL): RuleGroup[] {
  const reference = t.namespace === REFERENCE_TARGETS.namespace && t.api === REFERENCE_TARGETS.api && t.consumer === REFERENCE_TARGETS.consumer && runbookBaseUrl === DEFAULT_RUNBOOK_URL;
  const groups = reference ? generatedSloRuleGroups() : relocateSloRules(generatedSloRuleGroups(), t, runbookBaseUrl);
  const job = t[service];
  const suffixes = sloDefinitions(t)
    .filter((s) => s.service === job)
    .map((s) => `-${job}-${s.name}`);
  const mine = groups.filter((g) => suffixes.some((x) => g.name.endsWith(x)));
  check(mine.length > 0, `no generated SLO rules for ${job}: run npm run generate`);
  return mine;
}
