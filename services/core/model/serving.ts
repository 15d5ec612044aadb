import type { Registry } from 'prom-client';
import { type DriftMonitor, createDriftMonitor } from '../drift/monitor';
import { parseReferenceProfile } from '../drift/profile';
import { FEATURE_NAMES } from '../features';
import type { Logger } from '../logger';
import { ModelManager } from './manager';
import { type Model, type VariantLabel, variantLabel } from './model';
import { type ModelServingConfig, driftDecision } from './serving-config';
import { type VariantFileWatcher, watchVariantFile } from './variant-file';

/** The model metrics each service's metrics.ts implements under its own names. */
export interface ModelMetricsSink {
  modelLoaded?(model: Model, seconds: number): void;
  modelLoadFailed?(variant: VariantLabel): void;
  modelSwitched(from: VariantLabel, to: VariantLabel): void;
  modelServed(model: Model): void;
  fallback(active: boolean): void;
}

export interface ModelServing {
  readonly manager: ModelManager;
  /** Stops watching the variant file and releases the models. */
  close(): Promise<void>;
}

/**
 * Loads the configured variant (falling back to the baseline), reports every load,
 * switch and fallback to the service's metrics, and starts the hot switch from the
 * variant file when one is configured. Shared by the API and the consumer, so a
 * rollback behaves the same in both.
 */
export async function startModelServing(config: ModelServingConfig, logger: Logger, metrics: ModelMetricsSink): Promise<ModelServing> {
  const manager = await ModelManager.create({
    modelDir: config.modelDir,
    initial: config.modelVariant,
    threads: { intraOp: config.ortIntraOpThreads, interOp: config.ortInterOpThreads },
    logger,
    events: {
      loaded: (m, s) => metrics.modelLoaded?.(m, s),
      loadFailed: (v) => metrics.modelLoadFailed?.(variantLabel(v)),
      switched: (from, to) => {
        metrics.modelSwitched(variantLabel(from.variant), variantLabel(to.variant));
        metrics.modelServed(to);
      },
      fallback: (active) => metrics.fallback(active),
    },
  });
  metrics.modelServed(manager.current());
  let watcher: VariantFileWatcher | undefined;
  if (config.modelVariantFile) {
    watcher = watchVariantFile(config.modelVariantFile, manager, logger, config.modelVariantPollMs);
    await watcher.poll();
  }
  return {
    manager,
    async close() {
      watcher?.stop();
      await manager.close();
    },
  };
}

export interface ModelDriftOptions {
  /** `metadata.referenceProfile` of the served model's directory (undefined for old models). */
  readonly referenceProfile: unknown;
  readonly registry: Registry;
  /** Metric name prefix: `volwatch_` (API) or `volwatch_consumer_` (consumer). */
  readonly prefix: string;
  /** The service's DRIFT_* settings. */
  readonly config: Pick<ModelServingConfig, 'driftWindowSize' | 'driftWindowMaxAgeMs' | 'driftStattest' | 'driftStattestThreshold' | 'driftShare' | 'driftComputeIntervalMs'>;
  readonly logger: Logger;
}

/** Share of DRIFT_WINDOW_MAX_AGE_MS a window must span before its features are scored. */
const DRIFT_WARMUP_SHARE = 0.75;

/**
 * Online drift against the reference profile stored with the model. A model without a
 * profile still serves: the monitor then reports drift_reference_available 0.
 */

export function createModelDrift(o: ModelDriftOptions): DriftMonitor {
  let profile;
  try {
    profile = parseReferenceProfile(o.referenceProfile);
  } catch (err) {
    o.logger.warn({ err }, 'the model has no usable drift reference profile; drift scores are off');
  }
  return createDriftMonitor({
    profile,
    featureNames: FEATURE_NAMES,
    registry: o.registry,
    prefix: o.prefix,
    windowSize: o.config.driftWindowSize,
    windowMaxAgeMs: o.config.driftWindowMaxAgeMs,
    // After a start, a restart or a stall, score once the window holds three quarters of its
    // age (or is full): minutes of a stream hold a regime or two and read as drift.
    minWindowSpanMs: Math.floor(o.config.driftWindowMaxAgeMs * DRIFT_WARMUP_SHARE),
    drift: driftDecision(o.config),
    // Score after a quarter of the window is new, so cycles stay rare at high rates.
    computeEvery: Math.max(1000, Math.floor(o.config.driftWindowSize / 4)),
    computeIntervalMs: o.config.driftComputeIntervalMs,
    onError: (err) => o.logger.warn({ err }, 'drift computation failed'),
  });
}
