import type { EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { sendAll } from '../core/kafka';
import type { Logger } from '../core/logger';
import type { ModelManager } from '../core/model/manager';
import { variantLabel } from '../core/model/model';
import { BatchFailedError, NonFiniteOutputError } from './errors';
import { type DeadLetterLimits, deadLetterRecord, publishDeadLetters } from './dead-letters';
import type { LagTracker } from './lag';
import type { ConsumerMetrics } from './metrics';
import { type PartitionState, type PartitionTracker, continuesAt } from './partitions';
import { encodePredictions } from './predictions';
import type { Restorer } from './restore';
import type { ScoredChunk, StreamFeatures } from './stream-features';

export interface BatchHandlerDeps {
  readonly predictionsTopic: string;
  readonly deadLetterTopic: string;
  /** Rows per model.predict call and per produce request. */
  readonly maxBatchRows: number;
  readonly deadLetterLimits: DeadLetterLimits;
  readonly partitions: PartitionTracker;
  readonly features: StreamFeatures;
  readonly restorer: Restorer;
  readonly lag: LagTracker;
  readonly metrics: ConsumerMetrics;
  readonly manager: () => ModelManager;
  readonly producer: () => Producer;
  /** The pipeline moved: a batch was fetched or a chunk committed. */
  readonly onProgress: () => void;
  /** A chunk was committed: the run of crashes without progress ends. */
  readonly onCommitted: () => void;
  readonly logger: Logger;
}

/**
 * kafkajs's eachBatch: restores the partition's windows when they cannot continue
 * at this batch, then scores it in chunks. Each chunk's predictions and dead
 * letters must be acknowledged by Kafka before its offsets are committed; a
 * failure leaves them uncommitted and marks the partition's windows untrusted
 * (they already hold the chunk's ticks), so the retry restores before scoring.
 */
export function createBatchHandler(deps: BatchHandlerDeps): (payload: EachBatchPayload) => Promise<void> {
  const { metrics, partitions, lag } = deps;

  async function scoreChunk(state: PartitionState, payload: EachBatchPayload, start: number, end: number): Promise<void> {
    const { topic, partition, messages } = payload.batch;
    const chunk = deps.features.score(partition, messages, start, end);
    const model = deps.manager().current();
    const variant = variantLabel(model.variant);
    const sends: Promise<unknown>[] = [];
    const deadLetters = chunk.deadLetters;
    let incomplete = 0;
    if (chunk.rows > 0) {
      const probs = await infer(chunk, model);
      metrics.predicted(variant, chunk.rows, probs.seconds);
      const { messages: records, nonFinite } = encodePredictions(chunk, probs.values, { name: model.name, version: model.version, variant, decisionThreshold: model.decisionThreshold }, topic, partition, Date.now());
      for (const i of nonFinite) deadLetters.push({ message: messageAt(messages, start, end, chunk.offsets[i]!), reason: 'non_finite_output', error: new NonFiniteOutputError(`model ${model.name} ${model.version} (${variant}) returned ${probs.values[i]} for this tick`) });
      for (let i = 0; i < chunk.rows; i++) if (!chunk.complete[i] && Number.isFinite(probs.values[i]!)) incomplete++;
      sends.push(
        sendAll(deps.producer(), deps.predictionsTopic, records).catch((err: Error) => {
          metrics.error('produce_failed');
          throw new BatchFailedError(`producing ${records.length} predictions to ${deps.predictionsTopic} failed: ${err.message}`, { cause: err });
        }),
      );
    }
    if (deadLetters.length > 0) sends.push(publishDeadLettersOf(payload, deadLetters));
    // Both must be acknowledged before any offset of the chunk is resolved.
    const settled = await Promise.allSettled(sends);
    // Published predictions count even when the chunk fails afterwards: scoring them again is a duplicate.
    if (settled[0]?.status === 'fulfilled' && chunk.rows > 0) countDuplicates(state, messages, start, end);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const now = Date.now();
    for (let i = 0; i < chunk.rows; i++) if (Number.isFinite(chunk.ticks[i]!.timeMs)) metrics.eventLag((now - chunk.ticks[i]!.timeMs) / 1000);
    if (chunk.rows > 0) metrics.lastEventLag((now - chunk.ticks[chunk.rows - 1]!.timeMs) / 1000);
    if (incomplete > 0) metrics.incompleteWindows(incomplete);

    const lastOffset = messages[end - 1]!.offset;
    const next = Number(lastOffset) + 1;
    payload.resolveOffset(lastOffset);
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(next) }] }] });
    state.nextOffset = next;
    metrics.processed(end - start);
    metrics.lastProcessed(now / 1000);
    lag.processed(partition, next);
    deps.onProgress();
    deps.onCommitted();
  }

  function countDuplicates(state: PartitionState, messages: readonly KafkaMessage[], start: number, end: number): void {
    let repeated = 0;
    for (let i = start; i < end && Number(messages[i]!.offset) < state.scoredThrough; i++) repeated++;
    if (repeated > 0) metrics.duplicates(repeated);
    state.scoredThrough = Math.max(state.scoredThrough, Number(messages[end - 1]!.offset) + 1);
  }

  async function infer(chunk: ScoredChunk, model: ReturnType<ModelManager['current']>): Promise<{ values: ArrayLike<number>; seconds: number }> {
    const t0 = process.hrtime.bigint();
    try {
      const values = await model.predict(chunk.input, chunk.rows);
      return { values, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    } catch (err) {
      metrics.error('inference_failed');
      throw new BatchFailedError(`inference failed for ${chunk.rows} rows: ${(err as Error).message}`, { cause: err });
    }
  }

  function publishDeadLettersOf(payload: EachBatchPayload, deadLetters: ScoredChunk['deadLetters']): Promise<void> {
    const { topic, partition } = payload.batch;
    const failedAt = new Date();
    const records = deadLetters.map((d) => deadLetterRecord(topic, partition, d, failedAt, deps.deadLetterLimits.maxValueBytes));
    return publishDeadLetters(deps.producer(), deps.deadLetterTopic, records, deps.deadLetterLimits).then(
      () => {
        for (const d of deadLetters) {
          metrics.deadLettered(d.reason);
          metrics.error(d.reason);
        }
      },
      (err: Error) => {
        metrics.error('dead_letter_failed');
        deps.logger.error({ err, topic: deps.deadLetterTopic, count: records.length }, 'dead-letter publish failed; the offsets stay uncommitted and the batch will be retried');
        throw new BatchFailedError(`publishing ${records.length} dead letters to ${deps.deadLetterTopic} failed: ${err.message}`, { cause: err });
      },
    );
  }

  /** Restores when needed; returns the index to score from, or undefined when nothing is left to score. */
  async function ready(state: PartitionState, payload: EachBatchPayload): Promise<number | undefined> {
    const { batch } = payload;
    const first = Number(batch.messages[0]!.offset);
    if (continuesAt(state, first)) {
      state.rejoined = false;
      return 0;
    }
    if (state.mode === 'scoring') state.mode = 'fresh';
    let step;
    try {
      step = await deps.restorer.onBatch(state, batch.messages);
    } catch (err) {
      metrics.error('restore_failed');
      state.mode = 'fresh';
      state.restore = undefined;
      throw new BatchFailedError(`restoring partition ${batch.partition} failed: ${(err as Error).message}`, { cause: err });
    }
    metrics.restoringPartitions(partitions.restoring);
    if (step.kind === 'sought') return undefined;
    if (step.kind === 'replayed') {
      payload.resolveOffset(step.lastOffset);
      await payload.heartbeat();
      return undefined;
    }
    return step.startIndex;
  }

  return async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const messages = batch.messages;
    if (messages.length === 0) return;
    const state = partitions.get(batch.partition);
    if (!state) return;
    const started = process.hrtime.bigint();
    metrics.consumed(messages.length);
    deps.onProgress();
    const start = await ready(state, payload);
    if (start === undefined) return;
    lag.fetched(batch.partition, Number(batch.highWatermark), Number(messages[start]?.offset ?? state.nextOffset));
    try {
      for (let i = start; i < messages.length; i += deps.maxBatchRows) {
        // Stopping or a seek/rebalance: leave the rest unresolved; it is fetched again.
        if (!payload.isRunning() || payload.isStale()) break;
        await scoreChunk(state, payload, i, Math.min(messages.length, i + deps.maxBatchRows));
        await payload.heartbeat();
      }
    } catch (err) {
      // The windows already hold the failed chunk's ticks: rebuild them before scoring again.
      state.mode = 'fresh';
      throw err;
    }
    metrics.batch(Number(process.hrtime.bigint() - started) / 1e9, messages.length - start);
  };
}

function messageAt(messages: readonly KafkaMessage[], start: number, end: number, offset: string): KafkaMessage {
  for (let i = start; i < end; i++) if (messages[i]!.offset === offset) return messages[i]!;
  throw new Error(`offset ${offset} is not in the chunk`);
}
