import type { EnvReader } from '../config';
import { type Variant, parseVariant } from './model';

// Kept apart from serving.ts so that reading configuration (cdk8s imports the services'
// defaults) never loads onnxruntime or prom-client.

/** Settings both services read from their environment for the model they serve. */
export interface ModelServingConfig {
  readonly modelDir: string;
  readonly modelVariant: Variant;
  /** File holding the variant (a mounted ConfigMap key); polled for hot switches. */
  readonly modelVariantFile: string | undefined;
  readonly modelVariantPollMs: number;
  readonly ortIntraOpThreads: number;
  readonly ortInterOpThreads: number;
  readonly driftEnabled: boolean;
  /** Recent values per feature the drift scores compare with the training profile. */
  readonly driftWindowSize: number;
  readonly driftWindowMaxAgeMs: number;
}

/** Per-service defaults of the settings above (each service exports its own in its config). */
export interface ModelServingDefaults {
  readonly modelDir: string;
  readonly modelVariant: Variant;
  readonly modelVariantPollMs: number;
  readonly ortIntraOpThreads: number;
  readonly ortInterOpThreads: number;
  readonly driftWindowSize: number;
  readonly driftWindowMaxAgeMs: number;
}

/** Reads MODEL_*, ORT_* and DRIFT_* the same way for both services. */
export function readModelServingConfig(r: EnvReader, d: ModelServingDefaults): ModelServingConfig {
  return {
    modelDir: r.string('MODEL_DIR', d.modelDir),
    modelVariant: r.custom('MODEL_VARIANT', d.modelVariant, parseVariant, '"ml", "baseline" or an absolute model directory'),
    modelVariantFile: r.optional('MODEL_VARIANT_FILE'),
    modelVariantPollMs: r.int('MODEL_VARIANT_POLL_MS', d.modelVariantPollMs, 100, 600_000),
    ortIntraOpThreads: r.int('ORT_INTRA_OP_THREADS', d.ortIntraOpThreads, 1, 64),
    ortInterOpThreads: r.int('ORT_INTER_OP_THREADS', d.ortInterOpThreads, 1, 64),
    driftEnabled: r.bool('DRIFT_ENABLED', true),
    driftWindowSize: r.int('DRIFT_WINDOW_SIZE', d.driftWindowSize, 30, 1_000_000),
    driftWindowMaxAgeMs: r.int('DRIFT_WINDOW_MAX_AGE_MS', d.driftWindowMaxAgeMs, 1000, 7 * 24 * 3_600_000),
  };
}
