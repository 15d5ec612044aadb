import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerDefaultMetrics } from '../core/default-metrics';
import type { Model, VariantLabel } from '../core/model/model';
import { modelInfoMetric } from '../core/model/info-metric';

/** Metric names: rules, dashboards, docs and tests import these, never retype them. */
export const CONSUMER_METRICS = {
  consumed: 'volwatch_consumer_messages_consumed_total',
  processed: 'volwatch_consumer_messages_processed_total',
  predictions: 'volwatch_consumer_predictions_total',
  errors: 'volwatch_consumer_errors_total',
  deadLettered: 'volwatch_consumer_dead_lettered_total',
  duplicates: 'volwatch_consumer_duplicates_total',
  batchDuration: 'volwatch_consumer_batch_duration_seconds',
  batchSize: 'volwatch_consumer_batch_size_messages',
  inferenceDuration: 'volwatch_consumer_inference_duration_seconds',
  eventLag: 'volwatch_consumer_event_time_lag_seconds',
  eventLagLast: 'volwatch_consumer_last_event_time_lag_seconds',
  offsetLag: 'volwatch_consumer_offset_lag',
  lastProcessed: 'volwatch_consumer_last_processed_timestamp_seconds',
  rebalances: 'volwatch_consumer_rebalances_total',
  assignedPartitions: 'volwatch_consumer_assigned_partitions',
  connected: 'volwatch_consumer_connected',
  ready: 'volwatch_consumer_ready',
  crashes: 'volwatch_consumer_crashes_total',
  modelInfo: 'volwatch_consumer_model_info',
  modelSwitches: 'volwatch_consumer_model_switches_total',
  fallback: 'volwatch_consumer_model_fallback_active',
  trackedProducts: 'volwatch_consumer_tracked_products',
  productEvictions: 'volwatch_consumer_product_evictions_total',
  restores: 'volwatch_consumer_restores_total',
  restoreDuration: 'volwatch_consumer_restore_duration_seconds',
  restoreMessages: 'volwatch_consumer_restore_messages_total',
  restoringPartitions: 'volwatch_consumer_restoring_partitions',
  sequenceAnomalies: 'volwatch_consumer_sequence_anomalies_total',
  incompleteWindow: 'volwatch_consumer_incomplete_window_predictions_total',
  groupOffsetLag: 'volwatch_consumer_group_offset_lag',
} as const;

/** Why a message went to the dead-letter topic. */
export type DeadLetterReason = 'malformed' | 'schema' | 'out_of_order' | 'non_finite_output';

export type ConsumerErrorType = DeadLetterReason | 'inference_failed' | 'produce_failed' | 'dead_letter_failed' | 'lag_refresh_failed' | 'restore_failed' | 'crash';

const DLQ_REASONS: readonly DeadLetterReason[] = ['malformed', 'schema', 'out_of_order', 'non_finite_output'];
const ERROR_TYPES: readonly ConsumerErrorType[] = [...DLQ_REASONS, 'inference_failed', 'produce_failed', 'dead_letter_failed', 'lag_refresh_failed', 'restore_failed', 'crash'];
export type EvictionReason = 'idle' | 'capacity';
export type SequenceAnomalyKind = 'reset' | 'gap';

const BATCH_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const INFERENCE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
/** 0.25 s is the lag objective at 2,000 ticks/s, so it must be a boundary. */
export const EVENT_LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const RESTORE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ConsumerMetrics {
  readonly registry: Registry;
  consumed(count: number): void;
  /** Messages whose offsets were resolved after their prediction or dead-letter record was acknowledged. */
  processed(count: number): void;
  predicted(variant: VariantLabel, rows: number, inferenceSeconds: number): void;
  error(type: ConsumerErrorType): void;
  deadLettered(reason: DeadLetterReason): void;
  /** Messages scored again at offsets whose predictions this member had already published. */
  duplicates(count: number): void;
  batch(seconds: number, size: number): void;
  eventLag(seconds: number): void;
  lastEventLag(seconds: number): void;
  offsetLag(topic: string, partition: number, lag: number): void;
  removeOffsetLag(topic: string, partition: number): void;
  /** Log end minus the group's committed offset, for every partition of the topic (broker view). */
  groupOffsetLag(topic: string, partition: number, lag: number): void;
  trackedProductsProbe(probe: () => number): void;
  evicted(reason: EvictionReason, count: number): void;
  restored(seconds: number, messages: number): void;
  restoringPartitions(count: number): void;
  sequenceAnomaly(kind: SequenceAnomalyKind): void;
  incompleteWindows(count: number): void;
  lastProcessed(epochSeconds: number): void;
  rebalanced(): void;
  assignedPartitions(count: number): void;
  /** Called at scrape time. */
  connectedProbe(probe: () => boolean): void;
  /** Called at scrape time. */
  readyProbe(probe: () => boolean): void;
  crashed(): void;
  modelServed(model: Model): void;
  modelSwitched(from: VariantLabel, to: VariantLabel): void;
  fallback(active: boolean): void;
}

export function createConsumerMetrics(groupId: string): ConsumerMetrics {
  const registry = new Registry();
  registerDefaultMetrics(registry);
  const r = [registry];

  const consumed = new Counter({ name: CONSUMER_METRICS.consumed, help: 'Messages fetched from the ticks topic (redeliveries included).', registers: r });
  const processed = new Counter({ name: CONSUMER_METRICS.processed, help: 'Messages whose offset was resolved after their prediction or dead-letter record was acknowledged.', registers: r });
  const predictions = new Counter({ name: CONSUMER_METRICS.predictions, help: 'Predictions produced to the predictions topic, by model variant.', labelNames: ['variant'] as const, registers: r });
  const errors = new Counter({ name: CONSUMER_METRICS.errors, help: 'Errors, by type (dead-letter reasons, failed inference or produce, crashes).', labelNames: ['type'] as const, registers: r });
  const deadLettered = new Counter({ name: CONSUMER_METRICS.deadLettered, help: 'Messages published to the dead-letter topic, by reason.', labelNames: ['reason'] as const, registers: r });
  const duplicates = new Counter({ name: CONSUMER_METRICS.duplicates, help: 'Messages scored again at offsets whose predictions this member had already published (a failed chunk, or a commit lost in a rebalance); scored from a restored window.', registers: r });
  const batchDuration = new Histogram({ name: CONSUMER_METRICS.batchDuration, help: 'Time to process one fetched batch: parse, features, inference, produce, commit.', buckets: BATCH_SECONDS_BUCKETS, registers: r });
  const batchSize = new Histogram({ name: CONSUMER_METRICS.batchSize, help: 'Messages per fetched batch.', buckets: BATCH_SIZE_BUCKETS, registers: r });
  const inference = new Histogram({ name: CONSUMER_METRICS.inferenceDuration, help: 'Model inference time per call (one call per chunk of rows), by variant.', labelNames: ['variant'] as const, buckets: INFERENCE_BUCKETS, registers: r });
  const eventLag = new Histogram({ name: CONSUMER_METRICS.eventLag, help: 'Time from a tick\'s event time to its prediction being acknowledged by Kafka.', buckets: EVENT_LAG_BUCKETS, registers: r });
  const eventLagLast = new Gauge({ name: CONSUMER_METRICS.eventLagLast, help: 'Event-time lag of the newest tick in the last acknowledged chunk.', registers: r });
  const offsetLag = new Gauge({ name: CONSUMER_METRICS.offsetLag, help: 'Messages between the log end offset and the next offset to process, per assigned partition.', labelNames: ['consumergroup', 'topic', 'partition'] as const, registers: r });
  const lastProcessed = new Gauge({ name: CONSUMER_METRICS.lastProcessed, help: 'Unix time up to which this member has processed everything it owns: when the last chunk was committed, or the last lag refresh that found it caught up.', registers: r });
  const groupLag = new Gauge({ name: CONSUMER_METRICS.groupOffsetLag, help: 'Log end offset minus the group\'s committed offset, for every partition of the topic, owned or not (the broker\'s view; the same on every member: aggregate with max).', labelNames: ['consumergroup', 'topic', 'partition'] as const, registers: r });
  let productsProbe: () => number = () => 0;
  new Gauge({
    name: CONSUMER_METRICS.trackedProducts,
    help: 'Products whose feature window this member holds.',
    registers: r,
    collect() {
      this.set(productsProbe());
    },
  });
  const evictions = new Counter({ name: CONSUMER_METRICS.productEvictions, help: 'Product windows dropped to bound memory: idle too long, or over MAX_PRODUCTS.', labelNames: ['reason'] as const, registers: r });
  const restores = new Counter({ name: CONSUMER_METRICS.restores, help: 'Partitions whose windows were rebuilt from the ticks topic before scoring (assignment, restart, redelivery).', registers: r });
  const restoreDuration = new Histogram({ name: CONSUMER_METRICS.restoreDuration, help: 'Time from the start of a partition restore to its first scored tick.', buckets: RESTORE_BUCKETS, registers: r });
  const restoreMessages = new Counter({ name: CONSUMER_METRICS.restoreMessages, help: 'Messages replayed into windows by restores (read again, not scored).', registers: r });
  const restoring = new Gauge({ name: CONSUMER_METRICS.restoringPartitions, help: 'Partitions being restored right now (not scored until done).', registers: r });
  const sequenceAnomalies = new Counter({ name: CONSUMER_METRICS.sequenceAnomalies, help: 'Scored ticks whose sequence went back (kind="reset": a producer restart or replay) or skipped numbers (kind="gap") for their product.', labelNames: ['kind'] as const, registers: r });
  const incomplete = new Counter({ name: CONSUMER_METRICS.incompleteWindow, help: 'Predictions made on a window that did not yet span its 60 s lookback (window_complete=false in the record).', registers: r });
  const rebalances = new Counter({ name: CONSUMER_METRICS.rebalances, help: 'Consumer group joins (the first one and every rebalance after it).', registers: r });
  const assigned = new Gauge({ name: CONSUMER_METRICS.assignedPartitions, help: 'Partitions of the ticks topic assigned to this consumer.', registers: r });
  let probe: () => boolean = () => false;
  new Gauge({
    name: CONSUMER_METRICS.connected,
    help: '1 when the consumer is connected and has heard from the broker recently, else 0.',
    registers: r,
    collect() {
      this.set(probe() ? 1 : 0);
    },
  });
  let readyProbe: () => boolean = () => false;
  new Gauge({
    name: CONSUMER_METRICS.ready,
    help: '1 when the consumer is in its group (not rebalancing), has heard from the broker recently, has a model, restores no partition and is not stopping, else 0.',
    registers: r,
    collect() {
      this.set(readyProbe() ? 1 : 0);
    },
  });
  const crashes = new Counter({ name: CONSUMER_METRICS.crashes, help: 'Consumer crashes reported by kafkajs (each is followed by a restart until the limit).', registers: r });
  const serveModel = modelInfoMetric(registry, CONSUMER_METRICS.modelInfo);
  const switches = new Counter({ name: CONSUMER_METRICS.modelSwitches, help: 'Model switches, by variant before and after.', labelNames: ['from', 'to'] as const, registers: r });
  const fallbackGauge = new Gauge({ name: CONSUMER_METRICS.fallback, help: '1 while the baseline is served because the requested ML model failed to load.', registers: r });

  fallbackGauge.set(0);
  assigned.set(0);
  restoring.set(0);
  for (const reason of ['idle', 'capacity'] as const) evictions.labels(reason).inc(0);
  for (const kind of ['reset', 'gap'] as const) sequenceAnomalies.labels(kind).inc(0);
  // Pre-create the bounded series so rate() works from the first scrape.
  for (const v of ['ml', 'baseline'] as const) predictions.labels(v).inc(0);
  const errorChildren = new Map(ERROR_TYPES.map((t) => [t, errors.labels(t)] as const));
  for (const c of errorChildren.values()) c.inc(0);
  const dlqChildren = new Map(DLQ_REASONS.map((t) => [t, deadLettered.labels(t)] as const));
  for (const c of dlqChildren.values()) c.inc(0);
  const variantChildren = new Map<VariantLabel, { count: Counter.Internal; inference: Histogram.Internal<string> }>();
  const lagChildren = new Map<string, Gauge.Internal<string>>();

  return {
    registry,
    consumed: (n) => consumed.inc(n),
    processed: (n) => processed.inc(n),
    predicted(variant, rows, seconds) {
      let c = variantChildren.get(variant);
      if (!c) {
        c = { count: predictions.labels(variant), inference: inference.labels(variant) };
        variantChildren.set(variant, c);
      }
      c.count.inc(rows);
      c.inference.observe(seconds);
    },
    error: (type) => errorChildren.get(type)!.inc(),
    deadLettered: (reason) => dlqChildren.get(reason)!.inc(),
    duplicates: (n) => duplicates.inc(n),
    batch(seconds, size) {
      batchDuration.observe(seconds);
      batchSize.observe(size);
    },
    eventLag: (s) => eventLag.observe(s),
    lastEventLag: (s) => eventLagLast.set(s),
    offsetLag(topic, partition, lag) {
      const key = `${topic}\u0000${partition}`;
      let c = lagChildren.get(key);
      if (!c) {
        c = offsetLag.labels(groupId, topic, String(partition));
        lagChildren.set(key, c);
      }
      c.set(lag);
    },
    removeOffsetLag(topic, partition) {
      lagChildren.delete(`${topic}\u0000${partition}`);
      offsetLag.remove(groupId, topic, String(partition));
    },
    groupOffsetLag: (topic, partition, lag) => groupLag.labels(groupId, topic, String(partition)).set(lag),
    trackedProductsProbe(p) {
      productsProbe = p;
    },
    evicted: (reason, n) => evictions.labels(reason).inc(n),
    restored(seconds, messages) {
      restores.inc();
      restoreMessages.inc(messages);
      restoreDuration.observe(seconds);
    },
    restoringPartitions: (n) => restoring.set(n),
    sequenceAnomaly: (kind) => sequenceAnomalies.labels(kind).inc(),
    incompleteWindows: (n) => incomplete.inc(n),
    lastProcessed: (t) => lastProcessed.set(t),
    rebalanced: () => rebalances.inc(),
    assignedPartitions: (n) => assigned.set(n),
    connectedProbe(p) {
      probe = p;
    },
    readyProbe(p) {
      readyProbe = p;
    },
    crashed: () => crashes.inc(),
    modelServed: serveModel,
    modelSwitched: (from, to) => switches.labels(from, to).inc(),
    fallback: (active) => fallbackGauge.set(active ? 1 : 0),
  };
}
