import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_THRESHOLDS } from '../../../services/core/drift/evaluate';
import { ksTwoSample } from '../../../services/core/drift/ks';
import { type ReferenceProfile, buildReferenceProfile, parseReferenceProfile } from '../../../services/core/drift/profile';
import { psi } from '../../../services/core/drift/psi';
import { wassersteinNormed } from '../../../services/core/drift/wasserstein';
import { FEATURE_NAMES } from '../../../services/core/features';
import { DEFAULT_TRAIN_OPTIONS, generateRows } from '../../../services/model/train';
import { ARTIFACTS_DIR } from '../../support/api';

/**
 * The drift reference sample stands in for the full training column in every drift
 * statistic: against the column itself it must score far from every threshold, or
 * drift decisions depend on which rows happened to be drawn.
 */
const rows = generateRows(DEFAULT_TRAIN_OPTIONS);
const train = rows.filter((r) => !r.holdout).map((r) => r.x);
const holdout = rows.filter((r) => r.holdout).map((r) => r.x);
const column = (xs: Float64Array[], j: number): Float64Array => Float64Array.from(xs, (x) => x[j]!).sort();
const trainColumns = FEATURE_NAMES.map((_, j) => column(train, j));
const shipped = parseReferenceProfile(JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'metadata.json'), 'utf8')).referenceProfile)!;

/** Each statistic of sample vs full column, as a share of the distance to its threshold. */
function distances(profile: ReferenceProfile) {
  return FEATURE_NAMES.map((name, j) => {
    const ref = profile.features[j]!;
    const sample = Float64Array.from(ref.sample);
    return {
      name,
      wasserstein: wassersteinNormed(sample, trainColumns[j]!, ref.std),
      ksPValue: ksTwoSample(sample, trainColumns[j]!).pValue,
      psi: psi(sample, trainColumns[j]!, { referenceDistinct: ref.distinct }).value,
    };
  });
}

describe('the shipped drift reference sample', () => {
  it('is the training column in miniature: every statistic stays well under its threshold', () => {
    const t = DEFAULT_THRESHOLDS;
    const tooFar = distances(shipped).filter((d) => !(d.wasserstein < t.wasserstein / 10 && d.ksPValue > 0.5 && d.psi < t.psiModerate / 10));
    expect(tooFar).toEqual([]);
  });

  it('decides drift of the holdout period exactly as the full training column does', () => {
    for (const [j, name] of FEATURE_NAMES.entries()) {
      const ref = shipped.features[j]!;
      const h = column(holdout, j);
      const full = wassersteinNormed(trainColumns[j]!, h, ref.std);
      const sampled = wassersteinNormed(Float64Array.from(ref.sample), h, ref.std);
      expect({ name, drifted: sampled >= DEFAULT_THRESHOLDS.wasserstein }).toEqual({ name, drifted: full >= DEFAULT_THRESHOLDS.wasserstein });
      expect(Math.abs(sampled - full)).toBeLessThan(0.005);
    }
  });

  it('is drawn from a stream independent of the simulator, and no seed draws a poor one', () => {
    expect(shipped).toMatchObject({ seed: DEFAULT_TRAIN_OPTIONS.seed, sampling: 'stratified', reservoirSize: 1000 });
    let worst = 0;
    for (const seed of [1, 2, 3, 42, DEFAULT_TRAIN_OPTIONS.seed + 1]) {
      for (const d of distances(buildReferenceProfile(train, FEATURE_NAMES, { seed }))) worst = Math.max(worst, d.wasserstein);
    }
    expect(worst).toBeLessThan(DEFAULT_THRESHOLDS.wasserstein / 10);
  });
});
