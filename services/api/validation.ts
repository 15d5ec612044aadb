import Ajv, { type ErrorObject } from 'ajv';
import { featureValueProblem } from '../core/feature-domain';
import { FEATURE_COUNT, FEATURE_NAMES } from '../core/features';
import { type FieldError, ValidationError } from './errors';

/** JSON Schema of one feature row (docs/api.md lists the same features in the same order). */
export const FEATURE_ROW_SCHEMA = {
  type: 'object',
  properties: Object.fromEntries(FEATURE_NAMES.map((n) => [n, { type: 'number' }])),
  required: [...FEATURE_NAMES],
  additionalProperties: false,
} as const;

const MAX_DETAILS = 20;
const ajv = new Ajv({ allErrors: true, strict: true });
const validateRow = ajv.compile(FEATURE_ROW_SCHEMA);

function describe(prefix: string, row: Record<string, unknown>, e: ErrorObject): FieldError {
  if (e.keyword === 'required') {
    return { field: `${prefix}.${String(e.params.missingProperty)}`, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties') {
    return { field: `${prefix}.${String(e.params.additionalProperty)}`, message: `is not a model feature (expected only: ${FEATURE_NAMES.join(', ')})` };
  }
  const name = e.instancePath.slice(1);
  const value = row[name];
  const message = typeof value === 'number' ? 'must be a finite number' : `must be a number, got ${value === null ? 'null' : typeof value}`;
  return { field: `${prefix}.${name}`, message };
}

export interface ParsedRows {
  readonly rows: number;
  /** Row-major, FEATURE_NAMES order: the model's float32 input. */
  readonly input: Float32Array;
  /**
   * The same values as sent (float64), for drift: the reference sample holds exact
   * training values, and a repeated value (a trade count per 30 s) must match it.
   */
  readonly values: Float64Array;
}

/**
 * Accepts `{"features": {...}}` (one row) or `{"instances": [{...}, ...]}` (a batch
 * of 1..maxRows rows). Every value must lie in its feature's domain
 * (services/core/feature-domain.ts), which also keeps it finite as a float32.
 * Reports every bad field, up to MAX_DETAILS, in one error.
 */
export function parsePredictBody(body: unknown, maxRows: number): ParsedRows {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body must be a JSON object with "features" or "instances"', [{ field: '(body)', message: 'must be an object' }]);
  }
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  const extra = keys.filter((k) => k !== 'features' && k !== 'instances');
  if (extra.length || keys.length !== 1) {
    throw new ValidationError('body must have exactly one of "features" (one row) or "instances" (a batch)', extra.length ? extra.map((k) => ({ field: k, message: 'is not allowed' })) : [{ field: '(body)', message: keys.length ? 'has both "features" and "instances"' : 'is empty' }]);
  }
  let items: unknown[];
  let prefix: (i: number) => string;
  if ('features' in b) {
    items = [b.features];
    prefix = () => 'features';
  } else {
    if (!Array.isArray(b.instances)) throw new ValidationError('"instances" must be an array of feature rows', [{ field: 'instances', message: 'must be an array' }]);
    items = b.instances;
    prefix = (i) => `instances[${i}]`;
    if (items.length === 0) throw new ValidationError('"instances" is empty', [{ field: 'instances', message: 'must contain at least 1 row' }]);
    if (items.length > maxRows) {
      throw new ValidationError(`batch of ${items.length} rows exceeds the limit of ${maxRows}`, [{ field: 'instances', message: `must contain at most ${maxRows} rows` }]);
    }
  }
  const values = new Float64Array(items.length * FEATURE_COUNT);
  const details: FieldError[] = [];
  for (let i = 0; i < items.length; i++) {
    const row = items[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      details.push({ field: prefix(i), message: 'must be an object of feature values' });
    } else if (!validateRow(row)) {
      for (const e of validateRow.errors ?? []) details.push(describe(prefix(i), row as Record<string, unknown>, e));
    } else {
      const r = row as unknown as Record<string, number>;
      for (let j = 0; j < FEATURE_COUNT; j++) {
        const name = FEATURE_NAMES[j]!;
        const v = r[name]!;
        const problem = featureValueProblem(j, v);
        if (problem) details.push({ field: `${prefix(i)}.${name}`, message: problem });
        else values[i * FEATURE_COUNT + j] = v;
      }
    }
    if (details.length >= MAX_DETAILS) break;
  }
  if (details.length) throw new ValidationError(`${details.length >= MAX_DETAILS ? `at least ${MAX_DETAILS}` : details.length} invalid field(s)`, details.slice(0, MAX_DETAILS));
  return { rows: items.length, input: new Float32Array(values), values };
}
