import { type Env, EnvReader, LOG_LEVELS, type LogLevel } from '../core/config';
import type { Variant } from '../core/model/model';
import { type ModelServingConfig, readModelServingConfig } from '../core/model/serving-config';

export interface ApiConfig extends ModelServingConfig {
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly metricsEnabled: boolean;
  readonly inferenceTimeoutMs: number;
  readonly maxBatchRows: number;
  readonly bodyLimitBytes: number;
  readonly bodyTimeoutMs: number;
  readonly bodyIdleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly maxInFlight: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly shutdownIdleGraceMs: number;
  readonly logLevel: LogLevel;
}

/** Defaults; the cdk8s constructs import these so ports and budgets cannot drift apart. */
export const API_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  metricsPort: 9464,
  modelDir: 'services/model/artifacts',
  modelVariant: 'ml' as Variant,
  modelVariantPollMs: 1000,
  ortIntraOpThreads: 1,
  ortInterOpThreads: 1,
  inferenceTimeoutMs: 250,
  maxBatchRows: 256,
  bodyLimitBytes: 262_144,
  // A /predict body holds one of MAX_IN_FLIGHT slots while it arrives: a slow sender must
  // lose it in seconds. 256 KiB in 5 s needs 52 KB/s; 2 s covers a lost segment's
  // retransmission on a fresh connection (initial RTO 1 s).
  bodyTimeoutMs: 5_000,
  bodyIdleTimeoutMs: 2_000,
  headersTimeoutMs: 10_000,
  maxInFlight: 128,
  // Above the idle timeouts of common load balancers (AWS ALB 60 s, GCP 600 s is configurable).
  keepAliveTimeoutMs: 75_000,
  shutdownTimeoutMs: 15_000,
  // While draining, idle kept-alive connections are closed after this long without any
  // request: a client busy on one sends its next request well within it and is answered.
  shutdownIdleGraceMs: 1_000,
  // An hour of inputs: about 12 calm/volatile regime cycles, the mix the training data has.
  // Shorter windows flag normal regime swings (docs/drift.md, "Calibration"); 36 000 values
  // hold an hour at the 10 req/s traffic floor, and fewer requests leave the age in charge.
  driftWindowSize: 36_000,
  driftWindowMaxAgeMs: 60 * 60_000,
} as const;

export function loadApiConfig(env: Env = process.env): ApiConfig {
  const r = new EnvReader(env);
  const cfg: ApiConfig = {
    ...readModelServingConfig(r, API_DEFAULTS),
    host: r.string('HOST', API_DEFAULTS.host),
    port: r.int('PORT', API_DEFAULTS.port, 0, 65535),
    metricsPort: r.int('METRICS_PORT', API_DEFAULTS.metricsPort, 0, 65535),
    metricsEnabled: r.bool('METRICS_ENABLED', true),
    inferenceTimeoutMs: r.int('INFERENCE_TIMEOUT_MS', API_DEFAULTS.inferenceTimeoutMs, 1, 60_000),
    maxBatchRows: r.int('MAX_BATCH_ROWS', API_DEFAULTS.maxBatchRows, 1, 10_000),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', API_DEFAULTS.bodyLimitBytes, 1024, 64 * 1024 * 1024),
    bodyTimeoutMs: r.int('BODY_TIMEOUT_MS', API_DEFAULTS.bodyTimeoutMs, 100, 600_000),
    bodyIdleTimeoutMs: r.int('BODY_IDLE_TIMEOUT_MS', API_DEFAULTS.bodyIdleTimeoutMs, 100, 600_000),
    headersTimeoutMs: r.int('HEADERS_TIMEOUT_MS', API_DEFAULTS.headersTimeoutMs, 100, 600_000),
    maxInFlight: r.int('MAX_IN_FLIGHT', API_DEFAULTS.maxInFlight, 1, 100_000),
    keepAliveTimeoutMs: r.int('KEEP_ALIVE_TIMEOUT_MS', API_DEFAULTS.keepAliveTimeoutMs, 1000, 3_600_000),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', API_DEFAULTS.shutdownTimeoutMs, 0, 600_000),
    shutdownIdleGraceMs: r.int('SHUTDOWN_IDLE_GRACE_MS', API_DEFAULTS.shutdownIdleGraceMs, 0, 600_000),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  r.check(cfg.port === 0 || cfg.port !== cfg.metricsPort, `PORT and METRICS_PORT must differ (both ${cfg.port})`);
  r.check(cfg.bodyIdleTimeoutMs <= cfg.bodyTimeoutMs, `BODY_IDLE_TIMEOUT_MS (${cfg.bodyIdleTimeoutMs}) must not exceed BODY_TIMEOUT_MS (${cfg.bodyTimeoutMs})`);
  r.finish();
  return cfg;
}
