import type { Admin } from 'kafkajs';
import type { ConsumerMetrics } from './metrics';

interface PartitionLag {
  /** Log end offset last seen. */
  high: number;
  /** Next offset to process as this process knows it (-1: unknown until a batch or the broker says). */
  next: number;
}

export interface LagTrackerDeps {
  readonly topic: string;
  readonly groupId: string;
  readonly metrics: ConsumerMetrics;
  readonly admin: () => Admin | undefined;
  /** Called after every successful exchange with the broker. */
  readonly onBrokerContact: () => void;
  readonly now?: () => number;
}

/**
 * Offset lag, two ways. Per owned partition (`offset_lag`) from what this process
 * fetched and committed, refreshed from the broker for idle partitions. For every
 * partition of the topic (`group_offset_lag`) from the broker alone (log end minus
 * the group's committed offset), so a partition nobody owns — its owner died and
 * the group has not rebalanced yet — still shows its lag growing. A member whose
 * owned partitions are all caught up is fresh as of now: freshness and event-time
 * lag then say so instead of freezing at the last tick's age.
 */
export class LagTracker {
  private readonly owned = new Map<number, PartitionLag>();
  private readonly now: () => number;

  constructor(private readonly deps: LagTrackerDeps) {
    this.now = deps.now ?? Date.now;
  }

  assign(partitions: readonly number[]): void {
    const mine = new Set(partitions);
    for (const p of [...this.owned.keys()]) {
      if (!mine.has(p)) {
        this.owned.delete(p);
        this.deps.metrics.removeOffsetLag(this.deps.topic, p);
      }
    }
    // The committed offsets are the truth after a rebalance; local progress restarts from them.
    for (const p of mine) this.owned.set(p, { high: this.owned.get(p)?.high ?? 0, next: -1 });
    this.deps.metrics.assignedPartitions(mine.size);
  }

  /** A fetched batch: its high watermark, and where processing stands. */
  fetched(partition: number, high: number, next: number): void {
    const p = this.owned.get(partition);
    if (!p) return;
    p.high = Math.max(p.high, high);
    p.next = next;
    this.export(partition, p);
  }

  /** Offsets before `next` are committed. */
  processed(partition: number, next: number): void {
    const p = this.owned.get(partition);
    if (!p) return;
    p.next = Math.max(p.next, next);
    this.export(partition, p);
  }

  async refresh(): Promise<void> {
    const admin = this.deps.admin();
    if (!admin) return;
    const { topic, groupId, metrics } = this.deps;
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    this.deps.onBrokerContact();
    const committedBy = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let caughtUp = true;
    for (const end of ends) {
      const high = Number(end.high);
      const c = committedBy.get(end.partition) ?? -1;
      // No committed offset yet: everything retained is still to be processed.
      const fromBroker = c >= 0 ? c : Number(end.low);
      metrics.groupOffsetLag(topic, end.partition, Math.max(0, high - fromBroker));
      const p = this.owned.get(end.partition);
      if (!p) continue;
      p.high = Math.max(p.high, high);
      p.next = Math.max(p.next, fromBroker);
      this.export(end.partition, p);
      if (p.high - p.next > 0) caughtUp = false;
    }
    if (caughtUp) {
      metrics.lastProcessed(this.now() / 1000);
      metrics.lastEventLag(0);
    }
  }

  private export(partition: number, p: PartitionLag): void {
    if (p.next < 0) return;
    this.deps.metrics.offsetLag(this.deps.topic, partition, Math.max(0, p.high - p.next));
  }
}
