import { FEATURE_COUNT, FEATURE_NAMES } from '../features';
import { binIndex } from '../stats';
import { type BaselineArtifact, readBaseline } from './artifacts';
import type { Model } from './model';

/** The rollback target: a lookup of spike rates by rv_60s decile, no native code involved. */
export class BaselineModel implements Model {
  readonly name: string;
  readonly version: string;
  readonly variant = 'baseline' as const;
  readonly decisionThreshold: number;
  private readonly featureIndex: number;

  constructor(private readonly artifact: BaselineArtifact) {
    this.name = artifact.name;
    this.version = artifact.version;
    this.decisionThreshold = artifact.decisionThreshold;
    this.featureIndex = FEATURE_NAMES.indexOf(artifact.feature);
  }

  static load(dir: string): BaselineModel {
    return new BaselineModel(readBaseline(dir));
  }

  predictSync(input: ArrayLike<number>, rows: number): Float64Array {
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      out[r] = this.artifact.spikeRates[binIndex(this.artifact.binEdges, input[r * FEATURE_COUNT + this.featureIndex]!)]!;
    }
    return out;
  }

  async predict(input: Float32Array, rows: number): Promise<Float64Array> {
    return this.predictSync(input, rows);
  }

  async dispose(): Promise<void> {}
}
