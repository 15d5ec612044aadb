import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, type FeatureName } from '../features';

/** File names inside a model directory (MODEL_DIR). */
export const ARTIFACT_FILES = {
  onnx: 'model.onnx',
  metadata: 'metadata.json',
  baseline: 'baseline.json',
  reference: 'reference-outputs.json',
} as const;

export type BuiltinVariant = 'ml' | 'baseline';

export interface FeatureStats {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  /** Inner decile edges of the training distribution. */
  readonly binEdges: readonly number[];
  /** Share of training rows in each of the binEdges.length + 1 bins. */
  readonly binProportions: readonly number[];
}

export interface HoldoutMetrics {
  readonly auc: number;
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ModelMetadata {
  readonly name: string;
  readonly version: string;
  readonly variant: 'ml';
  readonly task: string;
  readonly features: readonly string[];
  readonly decisionThreshold: number;
  readonly onnx: { file: string; sha256: string; input: string; output: string; opset: number };
  readonly training: Record<string, unknown>;
  readonly metrics: { train: HoldoutMetrics & { baseRate: number }; holdout: HoldoutMetrics & { baseRate: number } };
  readonly featureStats: Record<FeatureName, FeatureStats>;
  /** Drift reference profile; absent in models trained before drift detection existed. */
  readonly referenceProfile?: unknown;
}

export interface BaselineArtifact {
  readonly name: string;
  readonly version: string;
  readonly variant: 'baseline';
  readonly rule: string;
  readonly feature: FeatureName;
  readonly binEdges: readonly number[];
  readonly spikeRates: readonly number[];
  readonly decisionThreshold: number;
  readonly metrics: { holdout: HoldoutMetrics };
}

export interface ReferenceOutputs {
  readonly model: string;
  readonly tolerance: number;
  readonly rows: number[][];
  readonly probabilities: number[];
  readonly baselineProbabilities: number[];
}

/** The model files are unusable (missing, unreadable, inconsistent). Never retried blindly. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelLoadError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function checkFeatures(path: string, features: unknown): void {
  if (!Array.isArray(features) || features.join(',') !== FEATURE_NAMES.join(',')) {
    throw new ModelLoadError(
      `${path} lists features ${JSON.stringify(features)}; this build computes ${JSON.stringify(FEATURE_NAMES)} (retrain or deploy a matching build)`,
    );
  }
}

export function readMetadata(dir: string): ModelMetadata {
  const path = join(dir, ARTIFACT_FILES.metadata);
  const m = readJson(path) as Partial<ModelMetadata>;
  if (typeof m?.name !== 'string' || typeof m.version !== 'string') throw new ModelLoadError(`${path} has no name/version`);
  checkFeatures(path, m.features);
  if (typeof m.decisionThreshold !== 'number' || !(m.decisionThreshold > 0 && m.decisionThreshold < 1)) {
    throw new ModelLoadError(`${path}: decisionThreshold must be in (0, 1)`);
  }
  if (typeof m.featureStats !== 'object' || m.featureStats === null) throw new ModelLoadError(`${path} has no featureStats`);
  return m as ModelMetadata;
}

/** The metadata, or undefined when it is unusable (the model manager reports that and falls back). */
export function tryReadMetadata(dir: string): ModelMetadata | undefined {
  try {
    return readMetadata(dir);
  } catch {
    return undefined;
  }
}

export function readBaseline(dir: string): BaselineArtifact {
  const path = join(dir, ARTIFACT_FILES.baseline);
  const b = readJson(path) as Partial<BaselineArtifact>;
  if (!b || !FEATURE_NAMES.includes(b.feature as FeatureName)) throw new ModelLoadError(`${path}: unknown feature ${String(b?.feature)}`);
  if (!Array.isArray(b.binEdges) || !Array.isArray(b.spikeRates) || b.spikeRates.length !== b.binEdges.length + 1) {
    throw new ModelLoadError(`${path}: spikeRates must have binEdges.length + 1 entries`);
  }
  if (!b.spikeRates.every((r) => typeof r === 'number' && r >= 0 && r <= 1)) {
    throw new ModelLoadError(`${path}: every spike rate must be a probability`);
  }
  return b as BaselineArtifact;
}

export function readReference(dir: string): ReferenceOutputs | undefined {
  const path = join(dir, ARTIFACT_FILES.reference);
  try {
    return readJson(path) as ReferenceOutputs;
  } catch {
    return undefined;
  }
}
