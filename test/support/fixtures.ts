import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, type FeatureRow, toFeatureRow } from '../../services/core/features';
import type { ReferenceOutputs } from '../../services/core/model/artifacts';
import { ARTIFACTS_DIR } from './api';

export function referenceOutputs(): ReferenceOutputs {
  return JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'reference-outputs.json'), 'utf8')) as ReferenceOutputs;
}

/** A plausible feature row (the first reference row). */
export function validRow(): FeatureRow {
  return toFeatureRow(referenceOutputs().rows[0]!);
}

export { FEATURE_NAMES };
