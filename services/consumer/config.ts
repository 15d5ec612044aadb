import { type Env, EnvReader, LOG_LEVELS, type LogLevel } from '../core/config';
import type { Variant } from '../core/model/model';
import { type ModelServingConfig, readModelServingConfig } from '../core/model/serving-config';

export interface ConsumerConfig extends ModelServingConfig {
  readonly host: string;
  readonly metricsPort: number;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly ticksTopic: string;
  readonly predictionsTopic: string;
  readonly deadLetterTopic: string;
  /** Rows per model.predict call and per produce request. */
  readonly maxBatchRows: number;
  /** A tick older than its product's newest tick by more than this is dead-lettered. */
  readonly maxOutOfOrderMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxWaitTimeMs: number;
  readonly partitionsConsumedConcurrently: number;
  /** How often the offset lag of idle partitions is refreshed from the broker. */
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
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3000,
  maxBytesPerPartition: 1_048_576,
  maxWaitTimeMs: 100,
  partitionsConsumedConcurrently: 1,
  lagRefreshMs: 5000,
  maxCrashRestarts: 5,
  shutdownTimeoutMs: 20_000,
  // The stream carries every tick (tens per second per product): a longer window than the
  // API's, so it spans several volatility regimes like the training data does.
  driftWindowSize: 20_000,
  driftWindowMaxAgeMs: 30 * 60_000,
} as const;

// Kafka topic names: legal characters, at most 249 of them.
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER_RE = /^[^\s:,]+:\d{1,5}$/;

function topic(r: EnvReader, name: string, fallback: string): string {
  return r.custom(name, fallback, (v) => (TOPIC_RE.test(v) ? v : undefined), 'a Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters)');
}

export function parseBrokers(raw: string): string[] | undefined {
  const list = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  return list.length > 0 && list.every((b) => BROKER_RE.test(b)) ? list : undefined;
}

export function loadConsumerConfig(env: Env = process.env): ConsumerConfig {
  const r = new EnvReader(env);
  const cfg: ConsumerConfig = {
    ...readModelServingConfig(r, CONSUMER_DEFAULTS),
    host: r.string('HOST', CONSUMER_DEFAULTS.host),
    metricsPort: r.int('METRICS_PORT', CONSUMER_DEFAULTS.metricsPort, 0, 65535),
    brokers: r.custom('KAFKA_BROKERS', parseBrokers(CONSUMER_DEFAULTS.brokers)!, parseBrokers, 'a comma-separated list of host:port'),
    clientId: r.string('KAFKA_CLIENT_ID', CONSUMER_DEFAULTS.clientId),
    groupId: r.string('KAFKA_GROUP_ID', CONSUMER_DEFAULTS.groupId),
    ticksTopic: topic(r, 'TICKS_TOPIC', CONSUMER_DEFAULTS.ticksTopic),
    predictionsTopic: topic(r, 'PREDICTIONS_TOPIC', CONSUMER_DEFAULTS.predictionsTopic),
    deadLetterTopic: topic(r, 'DEAD_LETTER_TOPIC', CONSUMER_DEFAULTS.deadLetterTopic),
    maxBatchRows: r.int('MAX_BATCH_ROWS', CONSUMER_DEFAULTS.maxBatchRows, 1, 100_000),
    maxOutOfOrderMs: r.int('MAX_OUT_OF_ORDER_MS', CONSUMER_DEFAULTS.maxOutOfOrderMs, 0, 86_400_000),
    sessionTimeoutMs: r.int('KAFKA_SESSION_TIMEOUT_MS', CONSUMER_DEFAULTS.sessionTimeoutMs, 6000, 300_000),
    heartbeatIntervalMs: r.int('KAFKA_HEARTBEAT_INTERVAL_MS', CONSUMER_DEFAULTS.heartbeatIntervalMs, 100, 100_000),
    maxBytesPerPartition: r.int('KAFKA_MAX_BYTES_PER_PARTITION', CONSUMER_DEFAULTS.maxBytesPerPartition, 1024, 64 * 1024 * 1024),
    maxWaitTimeMs: r.int('KAFKA_MAX_WAIT_TIME_MS', CONSUMER_DEFAULTS.maxWaitTimeMs, 0, 60_000),
    partitionsConsumedConcurrently: r.int('KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY', CONSUMER_DEFAULTS.partitionsConsumedConcurrently, 1, 64),
    lagRefreshMs: r.int('LAG_REFRESH_MS', CONSUMER_DEFAULTS.lagRefreshMs, 100, 600_000),
    maxCrashRestarts: r.int('MAX_CRASH_RESTARTS', CONSUMER_DEFAULTS.maxCrashRestarts, 0, 1000),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', CONSUMER_DEFAULTS.shutdownTimeoutMs, 0, 600_000),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  r.check(cfg.heartbeatIntervalMs * 3 <= cfg.sessionTimeoutMs, `KAFKA_HEARTBEAT_INTERVAL_MS (${cfg.heartbeatIntervalMs}) must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${cfg.sessionTimeoutMs})`);
  r.check(new Set([cfg.ticksTopic, cfg.predictionsTopic, cfg.deadLetterTopic]).size === 3, 'TICKS_TOPIC, PREDICTIONS_TOPIC and DEAD_LETTER_TOPIC must be three different topics');
  r.finish();
  return cfg;
}
