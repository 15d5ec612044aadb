/**
 * Token bucket: tokens accrue at `ratePerSecond` up to `capacity`, so a stall
 * (a slow send) is caught up by at most one bucket, never by an unbounded burst.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
    if (!(capacity >= 1)) throw new RangeError('capacity must be >= 1');
    this.tokens = 0;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  /** Takes up to `max` whole tokens; returns how many were taken. */
  take(max: number): number {
    if (!Number.isFinite(this.ratePerSecond)) return max;
    this.refill();
    const n = Math.min(max, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }

  /** Milliseconds until at least one token is available. */
  waitMs(): number {
    if (!Number.isFinite(this.ratePerSecond)) return 0;
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.ratePerSecond) * 1000;
  }
}
