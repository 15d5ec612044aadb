import type { Admin, KafkaMessage } from 'kafkajs';
import type { Logger } from '../core/logger';
import type { PartitionState, RestorePlan } from './partitions';
import type { ProductStates } from './product-state';
import { type StreamFeatures, decodeTick } from './stream-features';

export interface RestoreDeps {
  readonly topic: string;
  readonly admin: () => Admin;
  /** consumer.seek for the ticks topic. */
  readonly seek: (partition: number, offset: number) => void;
  readonly features: StreamFeatures;
  readonly states: ProductStates;
  /** Event time a replay must cover before the first scored tick: the window plus the out-of-order tolerance. */
  readonly lookbackMs: number;
  readonly onRestored: (partition: number, seconds: number, replayed: number) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** How often a replay that started too late is pushed further back before it is accepted as is. */
const MAX_ATTEMPTS = 8;

/** What the batch handler does with the rest of the batch after the restorer saw it. */
export type RestoreStep =
  /** The partition was sought back; drop the batch, the replay arrives in the next ones. */
  | { readonly kind: 'sought' }
  /** Replayed up to the end of the batch; resolve this offset (locally only: never committed). */
  | { readonly kind: 'replayed'; readonly lastOffset: string }
  /** The windows are ready: score the batch from this index (messages before it were replayed). */
  | { readonly kind: 'ready'; readonly startIndex: number };

/**
 * Rebuilds a partition's product windows from the ticks topic before it is
 * scored, as Kafka Streams restores a state store from its changelog: seek back
 * far enough in event time, push the replayed ticks through the same feature
 * path (no predictions, no drift, no dead letters, no commits), then score from
 * the first offset that was not yet processed. The start offset is found by record
 * timestamp and then checked against the ticks' own event times, because other
 * producers may stamp records differently: a replay that starts too late is pushed
 * further back, up to the log start.
 */
export class Restorer {
  private readonly now: () => number;

  constructor(private readonly deps: RestoreDeps) {
    this.now = deps.now ?? Date.now;
  }

  async onBatch(state: PartitionState, messages: readonly KafkaMessage[]): Promise<RestoreStep> {
    if (state.mode !== 'restoring' || !state.restore) return this.begin(state, messages);
    const plan = state.restore;
    const first = Number(messages[0]!.offset);
    if (first >= plan.target) return this.finish(state, first, 0);
    if (!plan.checked) {
      plan.checked = true;
      const earliest = eventTimeMs(messages);
      if (earliest > plan.targetEventMs - this.deps.lookbackMs && first > plan.low && plan.attempts < MAX_ATTEMPTS) {
        plan.attempts++;
        plan.checked = false;
        plan.from = Math.max(plan.low, plan.target - 2 * Math.max(plan.target - first, 500));
        this.deps.seek(state.partition, plan.from);
        return { kind: 'sought' };
      }
    }
    const end = messages.findIndex((m) => Number(m.offset) >= plan.target);
    const upTo = end < 0 ? messages.length : end;
    this.deps.features.restore(state.partition, messages, 0, upTo);
    plan.replayed += upTo;
    if (end < 0) return { kind: 'replayed', lastOffset: messages[upTo - 1]!.offset };
    return this.finish(state, plan.target, end);
  }

  private async begin(state: PartitionState, messages: readonly KafkaMessage[]): Promise<RestoreStep> {
    const { partition } = state;
    this.deps.states.dropPartition(partition);
    const target = Number(messages[0]!.offset);
    const started = this.now();
    const admin = this.deps.admin();
    const [offsets, byTime] = await Promise.all([
      admin.fetchTopicOffsets(this.deps.topic),
      admin.fetchTopicOffsetsByTimestamp(this.deps.topic, Number(messages[0]!.timestamp) - this.deps.lookbackMs),
    ]);
    const low = Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
    const plan: RestorePlan = { target, targetEventMs: eventTimeMs(messages), from: target, low, checked: false, attempts: 0, startedMs: started, replayed: 0 };
    state.restore = plan;
    state.mode = 'restoring';
    if (target <= low) return this.finish(state, target, 0);
    const guess = Number(byTime.find((o) => o.partition === partition)?.offset ?? target);
    plan.from = Math.max(low, Math.min(target - 1, Number.isFinite(guess) ? guess : target - 1));
    this.deps.logger.info({ partition, target, from: plan.from, low }, 'restoring partition windows from the log');
    this.deps.seek(partition, plan.from);
    return { kind: 'sought' };
  }

  private finish(state: PartitionState, nextOffset: number, startIndex: number): RestoreStep {
    const plan = state.restore!;
    state.mode = 'scoring';
    state.nextOffset = nextOffset;
    state.rejoined = false;
    state.restore = undefined;
    const seconds = (this.now() - plan.startedMs) / 1000;
    this.deps.onRestored(state.partition, seconds, plan.replayed);
    this.deps.logger.info({ partition: state.partition, from: plan.from, nextOffset, replayed: plan.replayed, attempts: plan.attempts, seconds }, 'partition restored; scoring');
    return { kind: 'ready', startIndex };
  }
}

/** Event time of the first decodable tick of the batch, else the first record's timestamp. */
function eventTimeMs(messages: readonly KafkaMessage[]): number {
  for (const m of messages) {
    try {
      return decodeTick(m).timeMs;
    } catch {
      // poison: try the next one
    }
  }
  return Number(messages[0]!.timestamp);
}
