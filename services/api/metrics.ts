import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerDefaultMetrics } from '../core/default-metrics';
import { modelInfoMetric } from '../core/model/info-metric';
import { FEATURE_NAMES, type FeatureName } from '../core/features';
import type { Model, VariantLabel } from '../core/model/model';
import { variantLabel } from '../core/model/model';

/** Metric names: rules, dashboards, docs and tests import these, never retype them. */
export const API_METRICS = {
  httpRequests: 'http_requests_total',
  httpDuration: 'http_request_duration_seconds',
  httpInFlight: 'http_requests_in_flight',
  errors: 'volwatch_api_errors_total',
  predictions: 'volwatch_predictions_total',
  inferenceDuration: 'volwatch_inference_duration_seconds',
  inferenceBatchRows: 'volwatch_inference_batch_rows',
  probability: 'volwatch_prediction_probability',
  modelLoadDuration: 'volwatch_model_load_duration_seconds',
  modelLoadFailures: 'volwatch_model_load_failures_total',
  modelInfo: 'volwatch_model_info',
  ready: 'volwatch_api_ready',
  fallback: 'volwatch_model_fallback_active',
  modelSwitches: 'volwatch_model_switches_total',
  outOfDistribution: 'volwatch_feature_out_of_distribution_total',
} as const;

/** Route label values: templates only, and one value for every unmatched path. */
export type RouteLabel = '/predict' | '/health' | '/ready' | '/version' | 'unmatched';
export const UNMATCHED_ROUTE: RouteLabel = 'unmatched';

export type ErrorType =
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'validation'
  | 'payload_too_large'
  | 'request_timeout'
  | 'not_found'
  | 'method_not_allowed'
  | 'overloaded'
  | 'draining'
  | 'inference_timeout'
  | 'inference_failed'
  | 'internal';

export type OodReason = 'range' | 'zscore';

/** SLO thresholds (seconds) must be bucket boundaries, or the SLI cannot be computed exactly. */
export const LATENCY_SLO_SECONDS = { fast: 0.1, acceptable: 0.8 } as const;
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, LATENCY_SLO_SECONDS.fast, 0.25, 0.5, LATENCY_SLO_SECONDS.acceptable, 1, 2.5, 5];
const INFERENCE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
const PROBABILITY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/** Everything the API records. A disabled instance records nothing (for the overhead benchmark). */
export interface ApiMetrics {
  readonly registry: Registry;
  requestStarted(): void;
  requestFinished(method: string, route: RouteLabel, status: number, seconds: number): void;
  error(route: RouteLabel, type: ErrorType): void;
  predicted(variant: VariantLabel, probabilities: ArrayLike<number>): void;
  /** One model call: a dynamic batch of one or more requests. */
  inferred(variant: VariantLabel, seconds: number, rows: number): void;
  /** Per-request drift signal: counts values outside the training range or with |z| > 3. */
  checkDistribution(rows: Float32Array, count: number): void;
  modelLoaded(model: Model, seconds: number): void;
  modelLoadFailed(variant: VariantLabel): void;
  modelServed(model: Model): void;
  modelSwitched(from: VariantLabel, to: VariantLabel): void;
  fallback(active: boolean): void;
  ready(isReady: boolean): void;
}

export interface FeatureBounds {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);

export function createApiMetrics(enabled: boolean, bounds: Readonly<Record<FeatureName, FeatureBounds>> | undefined): ApiMetrics {
  const registry = new Registry();
  if (!enabled) return noopMetrics(registry);
  registerDefaultMetrics(registry);

  const requests = new Counter({ name: API_METRICS.httpRequests, help: 'HTTP requests served, by method, route template and status code.', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const duration = new Histogram({ name: API_METRICS.httpDuration, help: 'HTTP request duration from first byte to response end.', labelNames: ['method', 'route', 'status'] as const, buckets: HTTP_DURATION_BUCKETS, registers: [registry] });
  let inFlightNow = 0;
  // Read at scrape time: two gauge updates per request would cost more than the count itself.
  new Gauge({
    name: API_METRICS.httpInFlight,
    help: 'HTTP requests being served right now.',
    registers: [registry],
    collect() {
      this.set(inFlightNow);
    },
  });
  const errors = new Counter({ name: API_METRICS.errors, help: 'Requests that ended in an error, by route template and error type.', labelNames: ['route', 'type'] as const, registers: [registry] });
  const predictions = new Counter({ name: API_METRICS.predictions, help: 'Rows scored, by model variant.', labelNames: ['variant'] as const, registers: [registry] });
  const inference = new Histogram({ name: API_METRICS.inferenceDuration, help: 'Duration of one model call (a dynamic batch of one or more requests), by variant.', labelNames: ['variant'] as const, buckets: INFERENCE_BUCKETS, registers: [registry] });
  const batchRows = new Histogram({ name: API_METRICS.inferenceBatchRows, help: 'Rows per model call after dynamic batching.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: [registry] });
  const probability = new Histogram({ name: API_METRICS.probability, help: 'Predicted spike probabilities, by variant.', labelNames: ['variant'] as const, buckets: PROBABILITY_BUCKETS, registers: [registry] });
  const loadDuration = new Gauge({ name: API_METRICS.modelLoadDuration, help: 'Time the last load of each model variant took.', labelNames: ['variant'] as const, registers: [registry] });
  const loadFailures = new Counter({ name: API_METRICS.modelLoadFailures, help: 'Model loads that failed, by requested variant.', labelNames: ['variant'] as const, registers: [registry] });
  const serveModel = modelInfoMetric(registry, API_METRICS.modelInfo);
  const readyGauge = new Gauge({ name: API_METRICS.ready, help: '1 when the API accepts predictions (a model is loaded and it is not draining), else 0.', registers: [registry] });
  const fallbackGauge = new Gauge({ name: API_METRICS.fallback, help: '1 while the baseline is served because the requested ML model failed to load.', registers: [registry] });
  const switches = new Counter({ name: API_METRICS.modelSwitches, help: 'Model switches, by variant before and after.', labelNames: ['from', 'to'] as const, registers: [registry] });
  const ood = new Counter({ name: API_METRICS.outOfDistribution, help: 'Feature values outside the training range (reason="range") or more than 3 standard deviations from the training mean (reason="zscore").', labelNames: ['feature', 'reason'] as const, registers: [registry] });
  readyGauge.set(0);
  fallbackGauge.set(0);
  // Pre-create the bounded series so rate() works from the first scrape and dashboards show zeros, not gaps.
  for (const variant of ['ml', 'baseline'] as const) {
    predictions.labels(variant).inc(0);
    loadFailures.labels(variant).inc(0);
  }
  for (const feature of FEATURE_NAMES) for (const reason of ['range', 'zscore'] as const) ood.labels(feature, reason).inc(0);
  // The SLIs divide 5xx by all /predict responses: both must exist before the first error,
  // or the error ratio is absent instead of 0.
  for (const status of ['200', '500']) {
    requests.labels('POST', '/predict', status).inc(0);
    duration.zero({ method: 'POST', route: '/predict', status });
  }

  // prom-client hashes label values on every call; caching the children keeps the hot path cheap.
  // Keyed method → route → status, so the hot path builds no key strings.
  const requestChildren = new Map<string, Map<RouteLabel, Map<number, { count: Counter.Internal; time: Histogram.Internal<string> }>>>();
  const variantChildren = new Map<VariantLabel, { count: Counter.Internal; inference: Histogram.Internal<string>; probability: Histogram.Internal<string> }>();
  const oodChildren = FEATURE_NAMES.map((f) => ({ range: ood.labels(f, 'range'), zscore: ood.labels(f, 'zscore') }));
  const b = bounds ? FEATURE_NAMES.map((f) => bounds[f]) : undefined;
  const children = (variant: VariantLabel) => {
    let c = variantChildren.get(variant);
    if (!c) {
      c = { count: predictions.labels(variant), inference: inference.labels(variant), probability: probability.labels(variant) };
      variantChildren.set(variant, c);
    }
    return c;
  };

  return {
    registry,
    requestStarted: () => {
      inFlightNow++;
    },
    requestFinished(method, route, status, seconds) {
      inFlightNow--;
      const m = METHODS.has(method) ? method : 'OTHER';
      let byRoute = requestChildren.get(m);
      if (!byRoute) requestChildren.set(m, (byRoute = new Map()));
      let byStatus = byRoute.get(route);
      if (!byStatus) byRoute.set(route, (byStatus = new Map()));
      let c = byStatus.get(status);
      if (!c) {
        c = { count: requests.labels(m, route, String(status)), time: duration.labels(m, route, String(status)) };
        byStatus.set(status, c);
      }
      c.count.inc();
      c.time.observe(seconds);
    },
    error: (route, type) => errors.labels(route, type).inc(),
    predicted(variant, probabilities) {
      const c = children(variant);
      c.count.inc(probabilities.length);
      for (let i = 0; i < probabilities.length; i++) c.probability.observe(probabilities[i]!);
    },
    inferred(variant, seconds, rows) {
      children(variant).inference.observe(seconds);
      batchRows.observe(rows);
    },
    checkDistribution(rows, count) {
      if (!b) return;
      const n = b.length;
      for (let r = 0; r < count; r++) {
        for (let j = 0; j < n; j++) {
          const x = rows[r * n + j]!;
          const s = b[j]!;
          if (x < s.min || x > s.max) oodChildren[j]!.range.inc();
          if (s.std > 0 && Math.abs(x - s.mean) > 3 * s.std) oodChildren[j]!.zscore.inc();
        }
      }
    },
    modelLoaded: (model, seconds) => loadDuration.labels(variantLabel(model.variant)).set(seconds),
    modelLoadFailed: (variant) => loadFailures.labels(variant).inc(),
    modelServed: serveModel,
    modelSwitched: (from, to) => switches.labels(from, to).inc(),
    fallback: (active) => fallbackGauge.set(active ? 1 : 0),
    ready: (isReady) => readyGauge.set(isReady ? 1 : 0),
  };
}

function noopMetrics(registry: Registry): ApiMetrics {
  const nothing = (): void => undefined;
  return {
    registry,
    requestStarted: nothing,
    requestFinished: nothing,
    error: nothing,
    predicted: nothing,
    inferred: nothing,
    checkDistribution: nothing,
    modelLoaded: nothing,
    modelLoadFailed: nothing,
    modelServed: nothing,
    modelSwitched: nothing,
    fallback: nothing,
    ready: nothing,
  };
}
