import type { CompressionTypes, Message, Producer, RecordMetadata } from 'kafkajs';

/**
 * kafkajs groups a send's messages by partition by copying the partition's array
 * for every message, so one send costs O(n²) in its size (tulios/kafkajs PR #1576,
 * unmerged). Slices of this size keep that negligible.
 */
export const SEND_SLICE = 250;

/**
 * Sends the messages as concurrent slices and resolves once every slice is
 * acknowledged (acks -1: by all in-sync replicas); rejects if any slice failed.
 * Slices go out over the same connection in order; a retried slice may land
 * after a later one, which callers tolerate (records carry their own order fields).
 */
export async function sendAll(producer: Producer, topic: string, messages: Message[], compression?: CompressionTypes): Promise<RecordMetadata[]> {
  if (messages.length <= SEND_SLICE) return producer.send({ topic, messages, acks: -1, compression });
  const sends: Promise<RecordMetadata[]>[] = [];
  for (let i = 0; i < messages.length; i += SEND_SLICE) sends.push(producer.send({ topic, messages: messages.slice(i, i + SEND_SLICE), acks: -1, compression }));
  const settled = await Promise.allSettled(sends);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((s) => (s as PromiseFulfilledResult<RecordMetadata[]>).value);
}
