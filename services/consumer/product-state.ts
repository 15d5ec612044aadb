import { TickWindow } from '../core/features';
import type { EvictionReason } from './metrics';

export interface ProductStateOptions {
  /** Most products tracked at once over all partitions; the least recently updated goes first. */
  readonly maxProducts: number;
  /** A product with no tick for this long (processing time) is forgotten. */
  readonly idleEvictMs: number;
  readonly onEvict?: (reason: EvictionReason, count: number) => void;
}

/** One product's state within one partition. */
export interface ProductEntry {
  readonly partition: number;
  readonly productId: string;
  readonly window: TickWindow;
  /** Sequence of the newest tick pushed (-1: none yet). */
  lastSequence: number;
  /** Processing time of the last push, for idle eviction. */
  touchedMs: number;
  prev: ProductEntry | null;
  next: ProductEntry | null;
}

/**
 * The feature windows of every product this process scores, by partition, with
 * bounded memory: a doubly linked list in update order makes eviction of the least
 * recently updated product O(1), at capacity and when idle. Dropping a partition
 * (revoked, or its state is no longer trusted) forgets all its products at once.
 */
export class ProductStates {
  private readonly byPartition = new Map<number, Map<string, ProductEntry>>();
  private oldest: ProductEntry | null = null;
  private newest: ProductEntry | null = null;
  private count = 0;

  constructor(private readonly opts: ProductStateOptions) {}

  get size(): number {
    return this.count;
  }

  /** The product's entry, created (with an empty window) when missing; marks it as just updated. */
  get(partition: number, productId: string, nowMs: number): ProductEntry {
    let products = this.byPartition.get(partition);
    if (!products) this.byPartition.set(partition, (products = new Map()));
    let entry = products.get(productId);
    if (entry) {
      entry.touchedMs = nowMs;
      if (entry !== this.newest) {
        this.unlink(entry);
        this.append(entry);
      }
      return entry;
    }
    if (this.count >= this.opts.maxProducts) this.evictOldest(this.count - this.opts.maxProducts + 1, 'capacity');
    entry = { partition, productId, window: new TickWindow(), lastSequence: -1, touchedMs: nowMs, prev: null, next: null };
    products.set(productId, entry);
    this.append(entry);
    this.count++;
    return entry;
  }

  /** Forgets every product of the partition; returns how many. */
  dropPartition(partition: number): number {
    const products = this.byPartition.get(partition);
    if (!products) return 0;
    for (const entry of products.values()) this.unlink(entry);
    this.byPartition.delete(partition);
    this.count -= products.size;
    return products.size;
  }

  /** Forgets products not updated within the idle limit; returns how many. */
  evictIdle(nowMs: number): number {
    let n = 0;
    while (this.oldest && nowMs - this.oldest.touchedMs > this.opts.idleEvictMs) {
      this.remove(this.oldest);
      n++;
    }
    if (n > 0) this.opts.onEvict?.('idle', n);
    return n;
  }

  private evictOldest(n: number, reason: EvictionReason): void {
    let done = 0;
    while (done < n && this.oldest) {
      this.remove(this.oldest);
      done++;
    }
    if (done > 0) this.opts.onEvict?.(reason, done);
  }

  private remove(entry: ProductEntry): void {
    this.unlink(entry);
    const products = this.byPartition.get(entry.partition)!;
    products.delete(entry.productId);
    if (products.size === 0) this.byPartition.delete(entry.partition);
    this.count--;
  }

  private append(entry: ProductEntry): void {
    entry.prev = this.newest;
    entry.next = null;
    if (this.newest) this.newest.next = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: ProductEntry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.oldest = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.newest = entry.prev;
    entry.prev = null;
    entry.next = null;
  }
}
