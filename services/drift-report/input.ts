import { readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow, WINDOW_MS } from '../core/features';
import { tickFromWire, TickSchemaError, type Tick } from '../core/ticks';
import { splitCsvLine } from '../core/csv';
import { parseReferenceProfile, ReferenceProfileError, type ReferenceProfile } from '../core/drift/profile';

/** Input the report cannot use; the message is the sentence the CLI prints. */
export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

export type Format = 'jsonl' | 'csv';

export interface FeatureData {
  readonly path: string;
  readonly format: Format;
  /** What the lines held. */
  readonly input: 'features' | 'ticks';
  /** Feature rows in FEATURE_NAMES order; non-finite values mark missing ones. */
  readonly rows: Float64Array[];
  /** Ticks read (tick input only). */
  readonly ticks?: number;
  /** Ticks dropped while a product's window was still filling (tick input only). */
  readonly warmupTicks?: number;
}

const TICK_FIELDS = ['product_id', 'price', 'best_bid', 'best_ask', 'last_size', 'time', 'sequence'] as const;

function readText(path: string, what: string): string {
  try {
    if (statSync(path).isDirectory()) throw new ReportInputError(`${what} ${path} is a directory, expected a file`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ReportInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ReportInputError(`${what} file ${path} does not exist`);
    throw new ReportInputError(`cannot read ${what} file ${path}: ${code ?? (err as Error).message}`);
  }
}

export function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new ReportInputError(`cannot tell the format of ${path}: use a .jsonl/.ndjson (one JSON object per line) or .csv file`);
}

/** Reads records (objects keyed by column) from a JSONL or CSV file, with their line numbers. */
function readRecords(path: string, what: string): { format: Format; records: { line: number; value: Record<string, unknown> }[] } {
  const format = formatOf(path);
  const text = readText(path, what);
  const lines = text.split(/\r?\n/);
  const records: { line: number; value: Record<string, unknown> }[] = [];
  if (format === 'jsonl') {
    lines.forEach((raw, i) => {
      if (raw.trim() === '') return;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch (err) {
        throw new ReportInputError(`${what} ${path} line ${i + 1} is not valid JSON (${(err as Error).message})`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ReportInputError(`${what} ${path} line ${i + 1} is not a JSON object`);
      records.push({ line: i + 1, value: v as Record<string, unknown> });
    });
    return { format, records };
  }
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new ReportInputError(`${what} ${path} is empty: expected a CSV header and rows`);
  const header = splitCsvLine(lines[headerAt]!);
  for (let i = headerAt + 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const cells = splitCsvLine(lines[i]!);
    if (cells.length !== header.length) throw new ReportInputError(`${what} ${path} line ${i + 1} has ${cells.length} fields, the header has ${header.length}`);
    const value: Record<string, unknown> = {};
    header.forEach((h, j) => (value[h] = cells[j]));
    records.push({ line: i + 1, value });
  }
  if (records.length === 0 && header.length > 0) {
    // Let the column check speak first: a header with wrong columns is the more useful message.
    checkColumns(path, what, header);
  }
  return { format, records };
}

function checkColumns(path: string, what: string, keys: readonly string[]): 'features' | 'ticks' {
  const has = new Set(keys);
  if (FEATURE_NAMES.every((n) => has.has(n))) return 'features';
  if (TICK_FIELDS.every((n) => has.has(n))) return 'ticks';
  const missingFeatures = FEATURE_NAMES.filter((n) => !has.has(n));
  const missingTick = TICK_FIELDS.filter((n) => !has.has(n));
  const hint = missingFeatures.length <= missingTick.length ? `feature columns ${missingFeatures.join(', ')}` : `tick fields ${missingTick.join(', ')}`;
  throw new ReportInputError(`${what} ${path} has the wrong columns: neither feature rows (${FEATURE_NAMES.join(', ')}) nor ticks (${TICK_FIELDS.join(', ')}); missing ${hint}`);
}

/** A feature cell: a number or numeric string; empty, null and "NaN" are missing values. */
function featureValue(raw: unknown, path: string, what: string, line: number, name: string): number {
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  if (raw === null || raw === undefined || text === '' || text?.toLowerCase() === 'nan') return NaN;
  const v = text !== undefined ? Number(text) : raw;
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new ReportInputError(`${what} ${path} line ${line}: ${name} is ${JSON.stringify(raw)}, not a number`);
  }
  return v;
}

/** Reads feature rows, or ticks featurized with one TickWindow per product exactly as in training. */
export function readFeatureData(path: string, what: 'reference' | 'current'): FeatureData {
  const { format, records } = readRecords(path, what);
  if (records.length === 0) throw new ReportInputError(`${what} ${path} is empty: it has no data rows`);
  const input = checkColumns(path, what, Object.keys(records[0]!.value));
  if (input === 'features') {
    const rows = records.map(({ line, value }) => {
      const row = new Float64Array(FEATURE_COUNT);
      FEATURE_NAMES.forEach((n, j) => {
        if (!(n in value)) throw new ReportInputError(`${what} ${path} line ${line} has no ${n}`);
        row[j] = featureValue(value[n], path, what, line, n);
      });
      return row;
    });
    return { path, format, input, rows };
  }
  const windows = new Map<string, { window: TickWindow; firstMs: number }>();
  const rows: Float64Array[] = [];
  let warmup = 0;
  for (const { line, value } of records) {
    let tick: Tick;
    try {
      const wire = format === 'csv' ? { ...value, sequence: value.sequence === '' ? undefined : Number(value.sequence) } : value;
      tick = tickFromWire(wire);
    } catch (err) {
      if (err instanceof TickSchemaError) throw new ReportInputError(`${what} ${path} line ${line} is not a valid tick: ${err.message}`);
      throw err;
    }
    let w = windows.get(tick.productId);
    if (!w) {
      w = { window: new TickWindow(), firstMs: tick.timeMs };
      windows.set(tick.productId, w);
    }
    w.window.push(tick);
    // Training only uses rows whose 60 s lookback is complete.
    if (tick.timeMs < w.firstMs + WINDOW_MS) {
      warmup++;
      continue;
    }
    rows.push(w.window.features(new Float64Array(FEATURE_COUNT)));
  }
  if (rows.length === 0) {
    throw new ReportInputError(`${what} ${path} has ${records.length} ticks but all fall in the first ${WINDOW_MS / 1000} s of their product, which only fill the feature window: no feature rows`);
  }
  return { path, format, input, rows, ticks: records.length, warmupTicks: warmup };
}

export interface ReferenceSource {
  readonly path: string;
  readonly kind: 'model' | 'profile' | 'data';
  readonly model?: { readonly name: string; readonly version: string };
  /** Set for 'model' and 'profile'. */
  readonly profile?: ReferenceProfile;
  /** Set for 'data'. */
  readonly data?: FeatureData;
}

function profileFrom(json: unknown, path: string): ReferenceProfile | undefined {
  try {
    return parseReferenceProfile(json);
  } catch (err) {
    if (err instanceof ReferenceProfileError) throw new ReportInputError(`${path}: ${err.message}`);
    throw err;
  }
}

/**
 * --reference: a model directory, its metadata.json, a bare profile JSON, or a
 * JSONL/CSV file of feature rows or ticks.
 */
export function readReference(path: string): ReferenceSource {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new ReportInputError(`reference ${path} does not exist`);
  }
  const file = isDir ? join(path, 'metadata.json') : path;
  if (isDir || extname(file).toLowerCase() === '.json') {
    const text = readText(file, isDir ? 'model metadata' : 'reference');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      if (isDir) throw new ReportInputError(`${file} is not valid JSON`);
      return { path, kind: 'data', data: readFeatureData(path, 'reference') };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ReportInputError(`${file} is neither model metadata with a reference profile nor a reference profile`);
    }
    const o = json as Record<string, unknown>;
    const isMetadata = 'referenceProfile' in o || (typeof o.name === 'string' && typeof o.version === 'string' && Array.isArray(o.features));
    if (isMetadata) {
      if (Array.isArray(o.features) && o.features.join(',') !== FEATURE_NAMES.join(',')) {
        throw new ReportInputError(`${file} lists features ${JSON.stringify(o.features)}; this build computes ${FEATURE_NAMES.join(', ')}`);
      }
      const profile = profileFrom(o.referenceProfile, file);
      if (!profile) {
        throw new ReportInputError(`model ${file} has no reference profile (it was trained before drift detection existed): retrain it, or pass the training feature rows as --reference`);
      }
      return { path, kind: 'model', model: { name: String(o.name), version: String(o.version) }, profile };
    }
    if (o.version === 1 && Array.isArray(o.features)) return { path, kind: 'profile', profile: profileFrom(o, file)! };
    throw new ReportInputError(`${file} is neither model metadata with a reference profile nor a reference profile`);
  }
  return { path, kind: 'data', data: readFeatureData(path, 'reference') };
}
