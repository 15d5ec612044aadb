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

/**
 * Rolling per-product window of ticks with prefix sums, so each feature costs
 * O(log n) (a binary search for the lookback cut) and each push amortized O(1).
 *
 * Ticks must arrive in event-time order; a tick older than the newest one is
 * clamped to the newest time (the consumer dead-letters anything further out of
 * order than its tolerance before it reaches here).
 */
export class TickWindow {
  private cap: number;
  private t: Float64Array;
  private logp: Float64Array;
  /** Prefix sum of squared tick-to-tick log returns, inclusive. */
  private csq: Float64Array;
  /** Prefix sum of trade sizes, inclusive. */
  private cvol: Float64Array;
  private head = 0;
  private tail = 0;
  /** Prefix sums just before `head` (the part already evicted). */
  private baseSq = 0;
  private baseVol = 0;
  private lastSpreadBps = 0;

  constructor(initialCapacity = 256) {
    this.cap = initialCapacity;
    this.t = new Float64Array(initialCapacity);
    this.logp = new Float64Array(initialCapacity);
    this.csq = new Float64Array(initialCapacity);
    this.cvol = new Float64Array(initialCapacity);
  }

  get size(): number {
    return this.tail - this.head;
  }

  get lastTimeMs(): number {
    return this.tail > this.head ? this.t[this.tail - 1]! : -Infinity;
  }

  push(tick: Tick): void {
    const time = Math.max(tick.timeMs, this.lastTimeMs);
    const lp = Math.log(tick.price);
    if (this.tail === this.cap) this.makeRoom();
    const i = this.tail;
    if (i > this.head) {
      const r = lp - this.logp[i - 1]!;
      this.csq[i] = this.csq[i - 1]! + r * r;
      this.cvol[i] = this.cvol[i - 1]! + tick.lastSize;
    } else {
      this.csq[i] = this.baseSq;
      this.cvol[i] = this.baseVol + tick.lastSize;
    }
    this.t[i] = time;
    this.logp[i] = lp;
    this.tail = i + 1;
    const mid = (tick.bestBid + tick.bestAsk) / 2;
    this.lastSpreadBps = ((tick.bestAsk - tick.bestBid) / mid) * 1e4;
    this.evict(time - WINDOW_MS);
  }

  /** Keeps exactly one tick at or before `cutoff` as the reference for the longest return. */
  private evict(cutoff: number): void {
    while (this.head + 1 < this.tail && this.t[this.head + 1]! <= cutoff) {
      this.baseSq = this.csq[this.head]!;
      this.baseVol = this.cvol[this.head]!;
      this.head++;
    }
  }

  private makeRoom(): void {
    const live = this.tail - this.head;
    if (live * 2 > this.cap) {
      const grow = (a: Float64Array): Float64Array => {
        const b = new Float64Array(this.cap * 2);
        b.set(a.subarray(this.head, this.tail));
        return b;
      };
      this.t = grow(this.t);
      this.logp = grow(this.logp);
      this.csq = grow(this.csq);
      this.cvol = grow(this.cvol);
      this.cap *= 2;
    } else {
      for (const a of [this.t, this.logp, this.csq, this.cvol]) a.copyWithin(0, this.head, this.tail);
    }
    this.tail = live;
    this.head = 0;
  }

  /** Index of the last tick with time <= x, or head when every tick is newer. */
  private lastAtOrBefore(x: number): number {
    let lo = this.head;
    let hi = this.tail - 1;
    if (this.t[lo]! > x) return lo;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.t[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
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
    const last = this.tail - 1;
    const now = this.t[last]!;
    const lp = this.logp[last]!;
    for (let k = 0; k < RET_LOOKBACKS_MS.length; k++) {
      out[k] = lp - this.logp[this.lastAtOrBefore(now - RET_LOOKBACKS_MS[k]!)]!;
    }
    // Returns strictly inside the lookback: those of ticks after the reference tick.
    const ref30 = this.lastAtOrBefore(now - 30_000);
    const ref60 = this.lastAtOrBefore(now - 60_000);
    out[4] = Math.sqrt(Math.max(0, this.csq[last]! - this.csq[ref30]!));
    out[5] = Math.sqrt(Math.max(0, this.csq[last]! - this.csq[ref60]!));
    out[6] = this.lastSpreadBps;
    const ticks30 = last - ref30 + (this.t[ref30]! > now - 30_000 ? 1 : 0);
    out[7] = ticks30 / 30;
    const refInside = this.t[ref30]! > now - 30_000 ? this.volAt(ref30) : 0;
    out[8] = Math.log1p(Math.max(0, this.cvol[last]! - this.cvol[ref30]! + refInside));
    return out;
  }

  /** Size of the trade at index i. */
  private volAt(i: number): number {
    return i > this.head ? this.cvol[i]! - this.cvol[i - 1]! : this.cvol[i]! - this.baseVol;
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
