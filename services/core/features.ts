import type { Tick } from './ticks';

/**
 * The one feature function used at training time, in the API (as the request
 * schema) and in the stream consumer. Order matters: it is the model's input order.
 */
export const FEATURE_NAMES = [
  'ret_1s',
  'ret_5s',
  'ret_30s',
  'ret_60s',
  'rv_30s',
  'rv_60s',
  'spread_bps',
  'trade_intensity_30s',
  'log_volume_30s',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export type FeatureRow = Record<FeatureName, number>;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** How much history the window keeps; the longest lookback of any feature. */
export const WINDOW_MS = 60_000;

const RET_LOOKBACKS_MS = [1_000, 5_000, 30_000, 60_000] as const;

/** Above these, the window's running sums are rebased so a huge value once seen cannot eat their precision. */
const REBASE_VOLUME = 1e9;
const REBASE_SQUARED_RETURNS = 1e3;
/** Columns of the window's one buffer, interleaved per tick. */
const T = 0;
const LOGP = 1;
/** Prefix sum of squared tick-to-tick log returns, inclusive. */
const CSQ = 2;
/** Prefix sum of trade sizes, inclusive. */
const CVOL = 3;
const STRIDE = 4;

/**
 * Rolling per-product window of ticks with prefix sums, so each feature costs
 * O(log n) (a binary search for the lookback cut) and each push amortized O(1).
 * One interleaved buffer per window keeps an idle product at about half a kilobyte.
 *
 * Ticks must arrive in event-time order; a tick older than the newest one is
 * clamped to the newest time (the consumer dead-letters anything further out of
 * order than its tolerance before it reaches here).
 */
export class TickWindow {
  private cap: number;
  private b: Float64Array;
  private head = 0;
  private tail = 0;
  /**
   * Per lookback (1, 5, 30, 60 s): the index lastAtOrBefore(newest - lookback) returned last
   * time. The newest time never decreases, so each only moves forward: amortized O(1) per
   * feature row instead of a binary search over a window of tens of thousands of ticks.
   */
  private readonly cursors = new Int32Array(RET_LOOKBACKS_MS.length);
  /** Prefix sums just before `head` (the part already evicted). */
  private baseSq = 0;
  private baseVol = 0;
  private lastSpreadBps = 0;

  constructor(initialCapacity = 16) {
    this.cap = Math.max(2, initialCapacity);
    this.b = new Float64Array(this.cap * STRIDE);
  }

  get size(): number {
    return this.tail - this.head;
  }

  get lastTimeMs(): number {
    return this.tail > this.head ? this.b[(this.tail - 1) * STRIDE + T]! : -Infinity;
  }

  /**
   * True once the window spans its whole lookback: it holds a tick at or before
   * WINDOW_MS before the newest one. Training and the drift report drop rows
   * before that point; the consumer flags them.
   */
  get complete(): boolean {
    return this.tail > this.head && this.b[this.head * STRIDE + T]! <= this.b[(this.tail - 1) * STRIDE + T]! - WINDOW_MS;
  }

  push(tick: Tick): void {
    const time = Math.max(tick.timeMs, this.lastTimeMs);
    const lp = Math.log(tick.price);
    if (this.tail === this.cap) this.makeRoom();
    const b = this.b;
    const i = this.tail * STRIDE;
    if (this.tail > this.head) {
      const r = lp - b[i - STRIDE + LOGP]!;
      b[i + CSQ] = b[i - STRIDE + CSQ]! + r * r;
      b[i + CVOL] = b[i - STRIDE + CVOL]! + tick.lastSize;
    } else {
      b[i + CSQ] = this.baseSq;
      b[i + CVOL] = this.baseVol + tick.lastSize;
    }
    b[i + T] = time;
    b[i + LOGP] = lp;
    this.tail++;
    const mid = (tick.bestBid + tick.bestAsk) / 2;
    this.lastSpreadBps = ((tick.bestAsk - tick.bestBid) / mid) * 1e4;
    this.evict(time - WINDOW_MS);
  }

  /** Keeps exactly one tick at or before `cutoff` as the reference for the longest return. */
  private evict(cutoff: number): void {
    const b = this.b;
    while (this.head + 1 < this.tail && b[(this.head + 1) * STRIDE + T]! <= cutoff) {
      this.baseSq = b[this.head * STRIDE + CSQ]!;
      this.baseVol = b[this.head * STRIDE + CVOL]!;
      this.head++;
    }
  }

  private makeRoom(): void {
    const live = this.tail - this.head;
    if (live * 2 > this.cap) {
      const grown = new Float64Array(this.cap * 2 * STRIDE);
      grown.set(this.b.subarray(this.head * STRIDE, this.tail * STRIDE));
      this.b = grown;
      this.cap *= 2;
    } else {
      this.b.copyWithin(0, this.head * STRIDE, this.tail * STRIDE);
    }
    for (let k = 0; k < this.cursors.length; k++) this.cursors[k] = Math.max(0, this.cursors[k]! - this.head);
    this.tail = live;
    this.head = 0;
    if (this.baseVol > REBASE_VOLUME || this.baseSq > REBASE_SQUARED_RETURNS) this.rebase();
  }

  /** Subtracts the evicted part from every running sum; differences stay the same. */
  private rebase(): void {
    const b = this.b;
    for (let i = this.head; i < this.tail; i++) {
      b[i * STRIDE + CSQ] = b[i * STRIDE + CSQ]! - this.baseSq;
      b[i * STRIDE + CVOL] = b[i * STRIDE + CVOL]! - this.baseVol;
    }
    this.baseSq = 0;
    this.baseVol = 0;
  }

  /**
   * Index of the last tick with time <= newest - RET_LOOKBACKS_MS[k], or head when every
   * tick is newer (the cursor never lags behind head, and only moves forward).
   */
  private lastAtOrBefore(k: number, x: number): number {
    const b = this.b;
    let i = Math.max(this.cursors[k]!, this.head);
    while (i + 1 < this.tail && b[(i + 1) * STRIDE + T]! <= x) i++;
    this.cursors[k] = i;
    return i;
  }

  /**
   * Writes the features for the newest tick into `out` (FEATURE_NAMES order)
   * and returns it. An empty window yields zeros.
   */
  features(out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
    if (this.tail === this.head) {
      out.fill(0);
      return out;
    }
    const b = this.b;
    const last = this.tail - 1;
    const now = b[last * STRIDE + T]!;
    const lp = b[last * STRIDE + LOGP]!;
    for (let k = 0; k < RET_LOOKBACKS_MS.length; k++) {
      out[k] = lp - b[this.lastAtOrBefore(k, now - RET_LOOKBACKS_MS[k]!) * STRIDE + LOGP]!;
    }
    // Returns strictly inside the lookback: those of ticks after the reference tick.
    const ref30 = this.cursors[2]!;
    const ref60 = this.cursors[3]!;
    const csqLast = b[last * STRIDE + CSQ]!;
    out[4] = Math.sqrt(Math.max(0, csqLast - b[ref30 * STRIDE + CSQ]!));
    out[5] = Math.sqrt(Math.max(0, csqLast - b[ref60 * STRIDE + CSQ]!));
    out[6] = this.lastSpreadBps;
    const refInside30 = b[ref30 * STRIDE + T]! > now - 30_000;
    const ticks30 = last - ref30 + (refInside30 ? 1 : 0);
    out[7] = ticks30 / 30;
    const refInside = refInside30 ? this.volAt(ref30) : 0;
    out[8] = Math.log1p(Math.max(0, b[last * STRIDE + CVOL]! - b[ref30 * STRIDE + CVOL]! + refInside));
    return out;
  }

  /** Size of the trade at index i. */
  private volAt(i: number): number {
    return i > this.head ? this.b[i * STRIDE + CVOL]! - this.b[(i - 1) * STRIDE + CVOL]! : this.b[i * STRIDE + CVOL]! - this.baseVol;
  }
}

/** Converts a feature vector to a named row (for JSON, logs and tests). */
export function toFeatureRow(v: ArrayLike<number>): FeatureRow {
  const row = {} as FeatureRow;
  FEATURE_NAMES.forEach((name, i) => {
    row[name] = v[i]!;
  });
  return row;
}

/** Converts a named row to a vector in model input order. */
export function fromFeatureRow(row: FeatureRow, out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
  for (let i = 0; i < FEATURE_COUNT; i++) out[i] = row[FEATURE_NAMES[i]!];
  return out;
}
