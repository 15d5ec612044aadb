import { type Env, EnvReader, LOG_LEVELS, type LogLevel } from '../core/config';
import { WINDOW_MS } from '../core/features';
import { type KafkaClientConfig, readKafkaClientConfig } from '../core/kafka';
import type { Variant } from '../core/model/model';
import { type ModelServingConfig, readModelServingConfig } from '../core/model/serving-config';

export interface ConsumerConfig extends ModelServingConfig, KafkaClientConfig {
  readonly host: string;
  readonly metricsPort: number;
  /** A second port serving only GET /version (VERSION_PORT); undefined: none. */
  readonly versionPort?: number;
  readonly groupId: string;
  readonly ticksTopic: string;
  readonly predictionsTopic: string;
  readonly deadLetterTopic: string;
  /** Rows per model.predict call and per produce request. */
  readonly maxBatchRows: number;
  /** A tick older than its product's newest tick by more than this is dead-lettered. */
  readonly maxOutOfOrderMs: number;
  /** Most product windows held at once; the least recently updated is dropped first. */
  readonly maxProducts: number;
  /** A product without ticks for this long is dropped. */
  readonly productIdleEvictMs: number;
  /** Longest dead-letter value kept whole (longer ones are cut and marked in a header). */
  readonly deadLetterMaxValueBytes: number;
  /** Most bytes per dead-letter produce request. */
  readonly deadLetterBatchBytes: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Without any exchange with the broker for this long, the consumer reports disconnected and not ready. */
  readonly brokerTimeoutMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxWaitTimeMs: number;
  readonly partitionsConsumedConcurrently: number;
  /** How often the offset lag is refreshed from the broker. */
  readonly lagRefreshMs: number;
  /** Crashes kafkajs may restart from before the process exits non-zero. */
  readonly maxCrashRestarts: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
}

/** Defaults; the cdk8s constructs import these so ports and budgets cannot drift apart. */
export const CONSUMER_DEFAULTS = {
  host: '127.0.0.1',
  metricsPort: 9465,
  brokers: '127.0.0.1:9092',
  clientId: 'volwatch-consumer',
  groupId: 'volwatch-consumer',
  ticksTopic: 'ticks',
  predictionsTopic: 'predictions',
  deadLetterTopic: 'ticks.dlq',
  modelDir: 'services/model/artifacts',
  modelVariant: 'ml' as Variant,
  modelVariantPollMs: 1000,
  ortIntraOpThreads: 1,
  ortInterOpThreads: 1,
  maxBatchRows: 2000,
  maxOutOfOrderMs: 5000,
  // About 1 KB per product window: 10,000 products stay near 10 MB.
  maxProducts: 10_000,
  productIdleEvictMs: 15 * 60_000,
  // Just under the broker's default message.max.bytes (1 MiB); lowered on the fly if the topic takes less.
  deadLetterMaxValueBytes: 900_000,
  deadLetterBatchBytes: 900_000,
  // A crashed member's partitions wait for its session to expire: 10 s keeps the group-wide
  // stall of a kill -9 near 10 s (goal 12) while tolerating GC pauses and slow batches.
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  brokerTimeoutMs: 5000,
  maxBytesPerPartition: 1_048_576,
  maxWaitTimeMs: 100,
  partitionsConsumedConcurrently: 1,
  lagRefreshMs: 5000,
  maxCrashRestarts: 5,
  shutdownTimeoutMs: 20_000,
  // An hour of the stream (about 60 000 complete rows at the simulated market's pace):
  // shorter windows flag normal regime swings (docs/drift.md, "Calibration").
  driftWindowSize: 60_000,
  driftWindowMaxAgeMs: 60 * 60_000,
} as const;

// Kafka topic names: legal characters, at most 249 of them.
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;

function topic(r: EnvReader, name: string, fallback: string): string {
  return r.custom(name, fallback, (v) => (TOPIC_RE.test(v) ? v : undefined), 'a Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters)');
}

export function loadConsumerConfig(env: Env = process.env): ConsumerConfig {
  const r = new EnvReader(env);
  const d = CONSUMER_DEFAULTS;
  const cfg: ConsumerConfig = {
    ...readModelServingConfig(r, d),
    ...readKafkaClientConfig(r, d),
    host: r.string('HOST', d.host),
    metricsPort: r.int('METRICS_PORT', d.metricsPort, 0, 65535),
    ...(r.optional('VERSION_PORT') !== undefined ? { versionPort: r.int('VERSION_PORT', 0, 0, 65535) } : {}),
    groupId: r.string('KAFKA_GROUP_ID', d.groupId),
    ticksTopic: topic(r, 'TICKS_TOPIC', d.ticksTopic),
    predictionsTopic: topic(r, 'PREDICTIONS_TOPIC', d.predictionsTopic),
    deadLetterTopic: topic(r, 'DEAD_LETTER_TOPIC', d.deadLetterTopic),
    maxBatchRows: r.int('MAX_BATCH_ROWS', d.maxBatchRows, 1, 100_000),
    maxOutOfOrderMs: r.int('MAX_OUT_OF_ORDER_MS', d.maxOutOfOrderMs, 0, 86_400_000),
    maxProducts: r.int('MAX_PRODUCTS', d.maxProducts, 1, 10_000_000),
    productIdleEvictMs: r.int('PRODUCT_IDLE_EVICT_MS', d.productIdleEvictMs, WINDOW_MS, 7 * 86_400_000),
    deadLetterMaxValueBytes: r.int('DEAD_LETTER_MAX_VALUE_BYTES', d.deadLetterMaxValueBytes, 1024, 100 * 1024 * 1024),
    deadLetterBatchBytes: r.int('DEAD_LETTER_BATCH_BYTES', d.deadLetterBatchBytes, 1024, 100 * 1024 * 1024),
    sessionTimeoutMs: r.int('KAFKA_SESSION_TIMEOUT_MS', d.sessionTimeoutMs, 6000, 300_000),
    heartbeatIntervalMs: r.int('KAFKA_HEARTBEAT_INTERVAL_MS', d.heartbeatIntervalMs, 100, 100_000),
    brokerTimeoutMs: r.int('BROKER_TIMEOUT_MS', d.brokerTimeoutMs, 1000, 300_000),
    maxBytesPerPartition: r.int('KAFKA_MAX_BYTES_PER_PARTITION', d.maxBytesPerPartition, 1024, 64 * 1024 * 1024),
    maxWaitTimeMs: r.int('KAFKA_MAX_WAIT_TIME_MS', d.maxWaitTimeMs, 0, 60_000),
    partitionsConsumedConcurrently: r.int('KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY', d.partitionsConsumedConcurrently, 1, 64),
    lagRefreshMs: r.int('LAG_REFRESH_MS', d.lagRefreshMs, 100, 600_000),
    maxCrashRestarts: r.int('MAX_CRASH_RESTARTS', d.maxCrashRestarts, 0, 1000),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', d.shutdownTimeoutMs, 0, 600_000),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  r.check(cfg.heartbeatIntervalMs * 3 <= cfg.sessionTimeoutMs, `KAFKA_HEARTBEAT_INTERVAL_MS (${cfg.heartbeatIntervalMs}) must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${cfg.sessionTimeoutMs})`);
  r.check(cfg.brokerTimeoutMs > cfg.heartbeatIntervalMs, `BROKER_TIMEOUT_MS (${cfg.brokerTimeoutMs}) must be longer than KAFKA_HEARTBEAT_INTERVAL_MS (${cfg.heartbeatIntervalMs})`);
  r.check(cfg.versionPort === undefined || cfg.versionPort === 0 || cfg.versionPort !== cfg.metricsPort, `VERSION_PORT (${cfg.versionPort}) must differ from METRICS_PORT`);
  r.check(new Set([cfg.ticksTopic, cfg.predictionsTopic, cfg.deadLetterTopic]).size === 3, 'TICKS_TOPIC, PREDICTIONS_TOPIC and DEAD_LETTER_TOPIC must be three different topics');
  r.finish();
  return cfg;
}
