/**
 * Most recent values of one feature, bounded by count (ring buffer) and by age.
 * push is O(1); age eviction moves the head forward and is amortized O(1).
 */
export class SlidingWindow {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  /** Index of the oldest live value. */
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly maxAgeMs: number = Infinity,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window capacity must be a positive integer, got ${capacity}`);
    if (!(maxAgeMs > 0)) throw new RangeError(`window maxAgeMs must be > 0, got ${maxAgeMs}`);
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** When the oldest live value was pushed (undefined when empty). */
  get oldestMs(): number | undefined {
    return this.count > 0 ? this.times[this.head] : undefined;
  }

  /** Adds a value observed at `nowMs` (monotonic non-decreasing), evicting the oldest when full. */
  push(value: number, nowMs: number): void {
    const cap = this.capacity;
    let tail = this.head + this.count;
    if (tail >= cap) tail -= cap;
    this.values[tail] = value;
    this.times[tail] = nowMs;
    if (this.count === cap) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
    } else {
      this.count++;
    }
    this.evict(nowMs);
  }

  /** Drops values older than maxAgeMs at `nowMs` (strictly older: age > maxAgeMs). */
  evict(nowMs: number): void {
    const cutoff = nowMs - this.maxAgeMs;
    const cap = this.capacity;
    while (this.count > 0 && this.times[this.head]! < cutoff) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.count--;
    }
  }

  /** Copies the live values, oldest first, into `out` (or a new array) and returns the filled part. */
  copyTo(out: Float64Array = new Float64Array(this.count)): Float64Array {
    if (out.length < this.count) throw new RangeError('output buffer too small');
    const first = Math.min(this.count, this.capacity - this.head);
    out.set(this.values.subarray(this.head, this.head + first), 0);
    if (first < this.count) out.set(this.values.subarray(0, this.count - first), first);
    return out.subarray(0, this.count);
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
