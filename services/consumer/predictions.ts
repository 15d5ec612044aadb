import type { Message } from 'kafkajs';
import type { ScoredChunk } from './stream-features';

/** One record on the predictions topic (JSON value, key = product_id). */
export interface Prediction {
  readonly product_id: string;
  readonly sequence: number;
  /** Tick event time, ISO-8601. */
  readonly event_time: string;
  /** When the consumer scored it, ISO-8601. */
  readonly processed_time: string;
  /** Always a finite number in [0, 1]. */
  readonly probability: number;
  readonly label: 0 | 1;
  /**
   * False while the product's window does not yet span its 60 s lookback (the first
   * minute of a product in the topic, or after the product was evicted): training
   * never saw such rows, so treat the probability with care. Counted by
   * volwatch_consumer_incomplete_window_predictions_total.
   */
  readonly window_complete: boolean;
  readonly model: { readonly name: string; readonly version: string; readonly variant: string };
  /** Where the tick came from: with at-least-once delivery, (partition, offset) identifies a tick across redeliveries. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
}

export interface ModelStamp {
  readonly name: string;
  readonly version: string;
  readonly variant: string;
  readonly decisionThreshold: number;
}

/** Keys are product ids (at most MAX_PRODUCTS in use): one Buffer each, reused for every record. */
const keyBuffers = new Map<string, Buffer>();
const KEY_CACHE_LIMIT = 10_000;

function keyOf(productId: string): Buffer {
  let key = keyBuffers.get(productId);
  if (!key) {
    if (keyBuffers.size >= KEY_CACHE_LIMIT) keyBuffers.clear();
    key = Buffer.from(productId, 'latin1');
    keyBuffers.set(productId, key);
  }
  return key;
}

const ASCII = /^[\x20-\x7e]*$/;

/**
 * Encodes the chunk's predictions. The record layout is fixed, so the JSON is
 * assembled from pieces serialized once per chunk instead of JSON.stringify per
 * record, and the chunk's records are encoded into one Buffer that each record
 * views a slice of: kafkajs would otherwise measure and encode every string value
 * separately (the consumer's hottest path after kafkajs itself). Rows whose
 * probability is not finite are skipped and their indexes returned: the caller
 * dead-letters them, a prediction is never null.
 */
export function encodePredictions(chunk: ScoredChunk, probs: ArrayLike<number>, model: ModelStamp, topic: string, partition: number, processedMs: number): { messages: Message[]; nonFinite: number[] } {
  const processed = JSON.stringify(new Date(processedMs).toISOString());
  const tail = `,"model":${JSON.stringify({ name: model.name, version: model.version, variant: model.variant })},"source":{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":"`;
  const ascii = ASCII.test(tail);
  // With printable ASCII only, a record's byte length is its string length: the chunk is one string
  // (and then one Buffer) with record boundaries in `ends`; otherwise each record is its own string.
  let text = '';
  const values: string[] = [];
  const ends: number[] = [];
  const keys: Buffer[] = [];
  const nonFinite: number[] = [];
  // Producers stamp a whole send with one clock reading: consecutive ticks often share it.
  let lastMs = Number.NaN;
  let lastIso = '';
  for (let i = 0; i < chunk.rows; i++) {
    const p = probs[i]!;
    if (!Number.isFinite(p)) {
      nonFinite.push(i);
      continue;
    }
    const tick = chunk.ticks[i]!;
    if (tick.timeMs !== lastMs) {
      lastMs = tick.timeMs;
      lastIso = new Date(lastMs).toISOString();
    }
    // product_id matches /^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/ (validated): nothing to escape.
    const value =
      `{"product_id":"${tick.productId}","sequence":${tick.sequence},"event_time":"${lastIso}","processed_time":${processed},` +
      `"probability":${p},"label":${p >= model.decisionThreshold ? 1 : 0},"window_complete":${chunk.complete[i]}${tail}${chunk.offsets[i]}"}}`;
    if (ascii) {
      text += value;
      ends.push(text.length);
    } else {
      values.push(value);
    }
    keys.push(keyOf(tick.productId));
  }
  const messages: Message[] = new Array(keys.length);
  if (ascii) {
    const all = Buffer.from(text, 'latin1');
    let at = 0;
    for (let i = 0; i < keys.length; i++) {
      messages[i] = { key: keys[i]!, value: all.subarray(at, ends[i]!) };
      at = ends[i]!;
    }
  } else {
    for (let i = 0; i < keys.length; i++) messages[i] = { key: keys[i]!, value: values[i]! };
  }
  return { messages, nonFinite };
}
