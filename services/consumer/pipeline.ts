import type { KafkaMessage, Message } from 'kafkajs';
import { FEATURE_COUNT, TickWindow } from '../core/features';
import { type Tick, TickSchemaError, tickFromWire } from '../core/ticks';
import type { DeadLetterReason } from './metrics';

/** The value of a message that is not JSON at all. */
export class MalformedTickError extends Error {
  override readonly name = 'MalformedTickError';
}

/** A tick further behind its product's newest tick than the tolerance allows. */
export class OutOfOrderTickError extends Error {
  override readonly name = 'OutOfOrderTickError';
}

/** Headers on every dead-letter record (values are strings). */
export const DLQ_HEADERS = {
  topic: 'volwatch.original.topic',
  partition: 'volwatch.original.partition',
  offset: 'volwatch.original.offset',
  timestamp: 'volwatch.original.timestamp',
  reason: 'volwatch.error.reason',
  errorClass: 'volwatch.error.class',
  errorMessage: 'volwatch.error.message',
} as const;

/** One record on the predictions topic (JSON value, key = product_id). */
export interface Prediction {
  readonly product_id: string;
  readonly sequence: number;
  /** Tick event time, ISO-8601. */
  readonly event_time: string;
  /** When the consumer scored it, ISO-8601. */
  readonly processed_time: string;
  readonly probability: number;
  readonly label: 0 | 1;
  readonly model: { readonly name: string; readonly version: string; readonly variant: string };
  /** Where the tick came from: with at-least-once delivery, (partition, offset) identifies a tick across redeliveries. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
}

interface ProductState {
  readonly window: TickWindow;
  maxSequence: number;
}

/** Rows of one chunk, ready for model.predict, plus what is needed to build their predictions. */
export interface PreparedChunk {
  /** rows × FEATURE_COUNT, row-major. */
  readonly input: Float32Array;
  rows: number;
  readonly ticks: Tick[];
  readonly offsets: string[];
  readonly deadLetters: { message: KafkaMessage; reason: DeadLetterReason; error: Error }[];
  duplicates: number;
}

/**
 * Per-product state of the ticks consumed by this process. Ticks must come in
 * sequence order per product (they are keyed by product, so a partition keeps
 * their order); a tick whose sequence is not above the newest one is a
 * redelivery: it is scored again from the current window but not pushed into it.
 */
export class FeatureState {
  private readonly products = new Map<string, ProductState>();
  private readonly scratch = new Float64Array(FEATURE_COUNT);

  constructor(
    private readonly maxOutOfOrderMs: number,
    private readonly observe?: (row: Float64Array) => void,
  ) {}

  prepare(messages: readonly KafkaMessage[], start: number, end: number): PreparedChunk {
    const n = end - start;
    const chunk: PreparedChunk = { input: new Float32Array(n * FEATURE_COUNT), rows: 0, ticks: [], offsets: [], deadLetters: [], duplicates: 0 };
    for (let i = start; i < end; i++) {
      const message = messages[i]!;
      let tick: Tick;
      try {
        tick = decode(message);
      } catch (err) {
        chunk.deadLetters.push({ message, reason: err instanceof MalformedTickError ? 'malformed' : 'schema', error: err as Error });
        continue;
      }
      let state = this.products.get(tick.productId);
      if (!state) {
        state = { window: new TickWindow(), maxSequence: -1 };
        this.products.set(tick.productId, state);
      }
      if (tick.sequence <= state.maxSequence) {
        chunk.duplicates++;
      } else {
        const newest = state.window.lastTimeMs;
        if (tick.timeMs < newest - this.maxOutOfOrderMs) {
          const behind = newest - tick.timeMs;
          chunk.deadLetters.push({ message, reason: 'out_of_order', error: new OutOfOrderTickError(`tick is ${behind} ms older than the newest ${tick.productId} tick; the tolerance is ${this.maxOutOfOrderMs} ms`) });
          continue;
        }
        state.window.push(tick);
        state.maxSequence = tick.sequence;
      }
      const row = state.window.features(this.scratch);
      chunk.input.set(row, chunk.rows * FEATURE_COUNT);
      this.observe?.(row);
      chunk.rows++;
      chunk.ticks.push(tick);
      chunk.offsets.push(message.offset);
    }
    return chunk;
  }
}

function decode(message: KafkaMessage): Tick {
  if (message.value === null) throw new MalformedTickError('message has no value (tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    throw new MalformedTickError(`not valid JSON: ${(err as Error).message}`);
  }
  return tickFromWire(json);
}

export function deadLetterMessage(topic: string, partition: number, d: PreparedChunk['deadLetters'][number], failedAt: Date): Message {
  const errorClass = d.error instanceof TickSchemaError || d.error instanceof MalformedTickError || d.error instanceof OutOfOrderTickError ? d.error.name : d.error.constructor.name;
  return {
    key: d.message.key,
    value: d.message.value,
    timestamp: String(failedAt.getTime()),
    headers: {
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: d.message.offset,
      [DLQ_HEADERS.timestamp]: d.message.timestamp,
      [DLQ_HEADERS.reason]: d.reason,
      [DLQ_HEADERS.errorClass]: errorClass,
      // Header values are not meant for essays; the message says what was wrong.
      [DLQ_HEADERS.errorMessage]: d.error.message.slice(0, 1000),
    },
  };
}
