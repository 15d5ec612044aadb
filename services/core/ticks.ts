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

function num(o: Record<string, unknown>, field: string, positive: boolean): number {
  const raw = o[field];
  if (raw === undefined || raw === null) throw new TickSchemaError(`${field} is required`, field);
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TickSchemaError(`${field} must be a finite number, got ${JSON.stringify(raw)}`, field);
  }
  if (positive ? v <= 0 : v < 0) {
    throw new TickSchemaError(`${field} must be ${positive ? '> 0' : '>= 0'}, got ${v}`, field);
  }
  return v;
}

/** Validates a decoded wire object and converts it to a Tick. */
export function tickFromWire(value: unknown): Tick {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TickSchemaError('tick must be a JSON object');
  }
  const o = value as Record<string, unknown>;
  const productId = o.product_id;
  if (typeof productId !== 'string' || !PRODUCT_RE.test(productId)) {
    throw new TickSchemaError(`product_id must look like BTC-USD, got ${JSON.stringify(productId)}`, 'product_id');
  }
  const price = num(o, 'price', true);
  const bestBid = num(o, 'best_bid', true);
  const bestAsk = num(o, 'best_ask', true);
  if (bestAsk < bestBid) {
    throw new TickSchemaError(`best_ask (${bestAsk}) is below best_bid (${bestBid})`, 'best_ask');
  }
  const lastSize = num(o, 'last_size', false);
  const time = o.time;
  const timeMs = typeof time === 'string' ? Date.parse(time) : NaN;
  if (!Number.isFinite(timeMs)) {
    throw new TickSchemaError(`time must be an ISO-8601 timestamp, got ${JSON.stringify(time)}`, 'time');
  }
  const sequence = o.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new TickSchemaError(`sequence must be a non-negative integer, got ${JSON.stringify(sequence)}`, 'sequence');
  }
  return { productId, price, bestBid, bestAsk, lastSize, timeMs, sequence };
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
