import type { EnvReader } from '../config';
import { type DriftOptions, DEFAULT_THRESHOLDS, ONLINE_DRIFT_DEFAULTS, type SelectableMethod } from '../drift/evaluate';
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
  /** Evidently's `stattest`: the statistic that decides whether one feature drifted. */
  readonly driftStattest: DriftStattest;
  /** Evidently's `stattest_threshold` (default: DRIFT_STATTEST_THRESHOLDS); undefined with 'auto' (each test keeps its own). */
  readonly driftStattestThreshold: number | undefined;
  /** Evidently's `drift_share`: dataset drift when at least this share of the scored features drifted. */
  readonly driftShare: number;
  /** Score at least this often (and after every quarter window of new values). */
  readonly driftComputeIntervalMs: number;
}

/** DRIFT_STATTEST values: one method for every feature, or Evidently's choice per feature. */
const DRIFT_STATTESTS = ['psi', 'ks', 'wasserstein', 'auto'] as const;
export type DriftStattest = 'auto' | SelectableMethod;

/** Default DRIFT_STATTEST_THRESHOLD per method: PSI's "major shift" online, Evidently's for the others. */
const DRIFT_STATTEST_THRESHOLDS: Readonly<Record<SelectableMethod, number>> = {
  psi: ONLINE_DRIFT_DEFAULTS.thresholds.psi!,
  ks: DEFAULT_THRESHOLDS.ksPValue,
  wasserstein: DEFAULT_THRESHOLDS.wasserstein,
};

/** Which DriftThresholds key DRIFT_STATTEST_THRESHOLD sets, and its valid range. */
const THRESHOLD_OF = {
  psi: { key: 'psi', expected: 'a PSI value > 0 (0.1 moderate, 0.2 major shift)', ok: (x: number) => x > 0 },
  ks: { key: 'ksPValue', expected: 'a p-value between 0 and 1 (exclusive)', ok: (x: number) => x > 0 && x < 1 },
  wasserstein: { key: 'wasserstein', expected: 'a normalized Wasserstein distance > 0', ok: (x: number) => x > 0 },
} as const;

const finite = (v: string): number | undefined => (/^[+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v) && Number.isFinite(Number(v)) ? Number(v) : undefined);

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
    ...readDriftDecision(r),
    driftComputeIntervalMs: r.int('DRIFT_COMPUTE_INTERVAL_MS', 30_000, 1000, 3_600_000),
  };
}

function readDriftDecision(r: EnvReader): Pick<ModelServingConfig, 'driftStattest' | 'driftStattestThreshold' | 'driftShare'> {
  const stattest = r.oneOf('DRIFT_STATTEST', DRIFT_STATTESTS, ONLINE_DRIFT_DEFAULTS.method);
  let threshold: number | undefined;
  if (stattest === 'auto') {
    r.check(r.optional('DRIFT_STATTEST_THRESHOLD') === undefined, 'DRIFT_STATTEST_THRESHOLD needs DRIFT_STATTEST psi, ks or wasserstein: "auto" picks a test per feature, each with its own threshold');
  } else {
    const t = THRESHOLD_OF[stattest];
    threshold = r.custom('DRIFT_STATTEST_THRESHOLD', DRIFT_STATTEST_THRESHOLDS[stattest], (v) => {
      const x = finite(v);
      return x !== undefined && t.ok(x) ? x : undefined;
    }, `${t.expected} for DRIFT_STATTEST=${stattest}`);
  }
  const share = r.custom('DRIFT_SHARE', DEFAULT_THRESHOLDS.datasetShare, (v) => {
    const x = finite(v);
    return x !== undefined && x > 0 && x <= 1 ? x : undefined;
  }, 'a share of features above 0 and at most 1');
  return { driftStattest: stattest, driftStattestThreshold: threshold, driftShare: share };
}

/** The drift monitor's decision options for the configured DRIFT_STATTEST, threshold and share. */
export function driftDecision(c: Pick<ModelServingConfig, 'driftStattest' | 'driftStattestThreshold' | 'driftShare'>): DriftOptions {
  const thresholds: Record<string, number> = { datasetShare: c.driftShare };
  if (c.driftStattest !== 'auto' && c.driftStattestThreshold !== undefined) thresholds[THRESHOLD_OF[c.driftStattest].key] = c.driftStattestThreshold;
  return { method: c.driftStattest, thresholds };
}
