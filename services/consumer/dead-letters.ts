import type { Message, Producer } from 'kafkajs';
import { type DeadLetter, errorClassOf } from './stream-features';

/** Headers on every dead-letter record (values are strings). */
export const DLQ_HEADERS = {
  topic: 'volwatch.original.topic',
  partition: 'volwatch.original.partition',
  offset: 'volwatch.original.offset',
  timestamp: 'volwatch.original.timestamp',
  reason: 'volwatch.error.reason',
  errorClass: 'volwatch.error.class',
  errorMessage: 'volwatch.error.message',
  /** Set to the original size in bytes when the value was cut to fit the dead-letter topic. */
  valueTruncated: 'volwatch.original.value.bytes',
  /** Set to the original size in bytes when the key was cut. */
  keyTruncated: 'volwatch.original.key.bytes',
} as const;

/** Keys are for partitioning and search, not payloads. */
const MAX_KEY_BYTES = 1024;
/** Record framing besides key, value and headers, generously rounded up. */
const RECORD_OVERHEAD_BYTES = 64;

export interface DeadLetterLimits {
  /** Longest value kept whole; longer ones are cut and marked. Lowered when the broker still refuses. */
  maxValueBytes: number;
  /** Most bytes in one produce request. */
  readonly maxBatchBytes: number;
}

interface SizedRecord {
  message: Message;
  bytes: number;
  /** The original value, to cut again if the broker refuses the record. */
  readonly original: Buffer | null;
}

export function deadLetterRecord(topic: string, partition: number, d: DeadLetter, failedAt: Date, maxValueBytes: number): SizedRecord {
  const headers: Record<string, string> = {
    [DLQ_HEADERS.topic]: topic,
    [DLQ_HEADERS.partition]: String(partition),
    [DLQ_HEADERS.offset]: d.message.offset,
    [DLQ_HEADERS.timestamp]: d.message.timestamp,
    [DLQ_HEADERS.reason]: d.reason,
    [DLQ_HEADERS.errorClass]: errorClassOf(d.error),
    // Header values are not meant for essays; the message says what was wrong.
    [DLQ_HEADERS.errorMessage]: d.error.message.slice(0, 1000),
  };
  let key = d.message.key;
  if (key && key.length > MAX_KEY_BYTES) {
    headers[DLQ_HEADERS.keyTruncated] = String(key.length);
    key = key.subarray(0, MAX_KEY_BYTES);
  }
  const message: Message = { key, value: d.message.value, timestamp: String(failedAt.getTime()), headers };
  const record: SizedRecord = { message, bytes: 0, original: d.message.value };
  cutValue(record, maxValueBytes);
  return record;
}

/** Cuts the record's value to at most `max` bytes (marking it) and recomputes its size. */
function cutValue(record: SizedRecord, max: number): void {
  const headers = record.message.headers as Record<string, string>;
  const original = record.original;
  if (original && original.length > max) {
    record.message.value = original.subarray(0, Math.max(0, max));
    headers[DLQ_HEADERS.valueTruncated] = String(original.length);
  }
  let bytes = RECORD_OVERHEAD_BYTES + (record.message.key?.length ?? 0) + ((record.message.value as Buffer | null)?.length ?? 0);
  for (const [k, v] of Object.entries(headers)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  record.bytes = bytes;
}

/** Groups records, in order, into batches of at most `maxBytes` (a larger record travels alone). */
export function batchBySize(records: readonly SizedRecord[], maxBytes: number): SizedRecord[][] {
  const batches: SizedRecord[][] = [];
  let current: SizedRecord[] = [];
  let size = 0;
  for (const r of records) {
    if (current.length > 0 && size + r.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += r.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function isTooLarge(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

/**
 * Publishes dead letters in produce requests of bounded size, acknowledged by
 * all in-sync replicas. A request the broker still finds too large is split; a
 * single record it refuses has its value halved until it fits (and the lower
 * limit is kept for the records after it), so no burst of poison can wedge a
 * partition. Other errors reject: the caller leaves the offsets uncommitted.
 */
export async function publishDeadLetters(producer: Producer, topic: string, records: SizedRecord[], limits: DeadLetterLimits): Promise<void> {
  for (const batch of batchBySize(records, limits.maxBatchBytes)) await sendFitting(producer, topic, batch, limits);
}

async function sendFitting(producer: Producer, topic: string, batch: SizedRecord[], limits: DeadLetterLimits): Promise<void> {
  try {
    await producer.send({ topic, acks: -1, messages: batch.map((r) => r.message) });
  } catch (err) {
    if (!isTooLarge(err)) throw err;
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await sendFitting(producer, topic, batch.slice(0, half), limits);
      await sendFitting(producer, topic, batch.slice(half), limits);
      return;
    }
    const record = batch[0]!;
    const current = (record.message.value as Buffer | null)?.length ?? 0;
    if (current === 0) throw err;
    limits.maxValueBytes = Math.min(limits.maxValueBytes, Math.floor(current / 2));
    cutValue(record, limits.maxValueBytes);
    await sendFitting(producer, topic, batch, limits);
  }
}
