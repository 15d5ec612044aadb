/**
 * The tick schema shared by the producer, the consumer and training.
 *
 * On the wire (Kafka `ticks` topic, replay files) a tick uses the field names of
 * Coinbase's `ticker` channel: product_id, price, best_bid, best_ask, last_size,
 * time (ISO-8601) and sequence. Coinbase sends numbers as strings; both forms
 * are accepted.
 */
export interface Tick {
  readonly productId: string;
  readonly price: number;
  readonly bestBid: number;
  readonly bestAsk: number;
  readonly lastSize: number;
  /** Event time, epoch milliseconds. */
  readonly timeMs: number;
  readonly sequence: number;
}

export interface WireTick {
  product_id: string;
  price: string | number;
  best_bid: string | number;
  best_ask: string | number;
  last_size: string | number;
  time: string;
  sequence: number;
}

/** A message that can never become a valid tick: dead-letter it, do not retry. */
export class TickSchemaError extends Error {
  override readonly name = 'TickSchemaError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const PRODUCT_RE = /^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/;

/**
 * The values a tick may carry. Wider than any real market (a price of 1e-12 to
 * 1e12 quote units, a trade of up to 1e12 base units), narrow enough that every
 * feature stays finite and float32-representable however the values combine:
 * a tick outside is a schema error and goes to the dead-letter topic.
 */
export const TICK_DOMAIN = {
  price: { min: 1e-12, max: 1e12 },
  size: { max: 1e12 },
  /** Event times from 2000-01-01 to 2100-01-01 (fixed, so a replay decides like the first pass). */
  timeMs: { min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) },
} as const;

function num(o: Record<string, unknown>, field: string, min: number, max: number, minExclusive: boolean): number {
  const raw = o[field];
  if (raw === undefined || raw === null) throw new TickSchemaError(`${field} is required`, field);
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TickSchemaError(`${field} must be a finite number, got ${JSON.stringify(raw)}`, field);
  }
  if (minExclusive ? v <= 0 : v < min) {
    throw new TickSchemaError(`${field} must be ${minExclusive ? '> 0' : `>= ${min}`}, got ${v}`, field);
  }
  if (v < min || v > max) {
    throw new TickSchemaError(`${field} must be between ${min} and ${max}, got ${v}`, field);
  }
  return v;
}

/** RFC 3339 date-time: date, `T` (or a space), time with optional fraction, `Z` or an offset. */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 timestamp (the fraction truncated to the millisecond),
 * or NaN. Stricter than Date.parse, which takes "1" for 2001-01-01 and rolls February 30
 * over to March 2.
 */
export function parseRfc3339(text: string): number {
  const m = RFC3339.exec(text);
  if (!m) return NaN;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = +m[6]!;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = +m[10]!;
    const om = +m[11]!;
    if (oh > 23 || om > 59) return NaN;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = m[7] === undefined ? 0 : +m[7].slice(0, 3).padEnd(3, '0');
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

const price = (o: Record<string, unknown>, field: string): number => num(o, field, TICK_DOMAIN.price.min, TICK_DOMAIN.price.max, true);

/** Validates a decoded wire object and converts it to a Tick. */
export function tickFromWire(value: unknown): Tick {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TickSchemaError('tick must be a JSON object');
  }
  const o = value as Record<string, unknown>;
  const productId = o.product_id;
  if (typeof productId !== 'string' || !PRODUCT_RE.test(productId)) {
    throw new TickSchemaError(`product_id must look like BTC-USD, got ${JSON.stringify(productId)?.slice(0, 100)}`, 'product_id');
  }
  const p = price(o, 'price');
  const bestBid = price(o, 'best_bid');
  const bestAsk = price(o, 'best_ask');
  if (bestAsk < bestBid) {
    throw new TickSchemaError(`best_ask (${bestAsk}) is below best_bid (${bestBid})`, 'best_ask');
  }
  const lastSize = num(o, 'last_size', 0, TICK_DOMAIN.size.max, false);
  const time = o.time;
  const timeMs = typeof time === 'string' ? parseRfc3339(time) : NaN;
  if (!Number.isFinite(timeMs)) {
    throw new TickSchemaError(`time must be an ISO-8601 (RFC 3339) timestamp like 2026-01-01T00:00:00.000Z, got ${JSON.stringify(time)?.slice(0, 100)}`, 'time');
  }
  if (timeMs < TICK_DOMAIN.timeMs.min || timeMs >= TICK_DOMAIN.timeMs.max) {
    throw new TickSchemaError(`time must be from 2000-01-01 to 2100-01-01, got ${time as string}`, 'time');
  }
  const sequence = o.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new TickSchemaError(`sequence must be a non-negative integer, got ${JSON.stringify(sequence)?.slice(0, 100)}`, 'sequence');
  }
  return { productId, price: p, bestBid, bestAsk, lastSize, timeMs, sequence };
}

/** Parses one Kafka message value or replay line. Throws TickSchemaError. */
export function parseTick(text: string): Tick {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (err) {
    throw new TickSchemaError(`not valid JSON: ${(err as Error).message}`);
  }
  return tickFromWire(decoded);
}

export function tickToWire(t: Tick): WireTick {
  return {
    product_id: t.productId,
    price: t.price,
    best_bid: t.bestBid,
    best_ask: t.bestAsk,
    last_size: t.lastSize,
    time: new Date(t.timeMs).toISOString(),
    sequence: t.sequence,
  };
}
