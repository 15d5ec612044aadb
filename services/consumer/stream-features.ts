import type { KafkaMessage } from 'kafkajs';
import { featureValueProblem, firstOutOfDomain } from '../core/feature-domain';
import { FEATURE_COUNT, FEATURE_NAMES } from '../core/features';
import { type Tick, TickSchemaError, tickFromWire } from '../core/ticks';
import { FeatureDomainError, MalformedTickError, NonFiniteOutputError, OutOfOrderTickError } from './errors';
import type { DeadLetterReason, SequenceAnomalyKind } from './metrics';
import type { ProductStates } from './product-state';

export interface DeadLetter {
  readonly message: KafkaMessage;
  readonly reason: DeadLetterReason;
  readonly error: Error;
}

/** Rows of one chunk, ready for model.predict, plus what is needed to build their predictions. */
export interface ScoredChunk {
  /** rows × FEATURE_COUNT, row-major. */
  readonly input: Float32Array;
  rows: number;
  readonly ticks: Tick[];
  readonly offsets: string[];
  /** Per row: did the window span its whole lookback (see TickWindow.complete)? */
  readonly complete: boolean[];
  readonly deadLetters: DeadLetter[];
}

export interface StreamFeaturesOptions {
  readonly states: ProductStates;
  /** A tick older than its product's newest by more than this is dead-lettered. */
  readonly maxOutOfOrderMs: number;
  /** Drift sees complete rows of scored ticks only (training drops incomplete ones too). */
  readonly observe?: (row: Float64Array) => void;
  readonly onSequenceAnomaly?: (kind: SequenceAnomalyKind) => void;
  readonly now?: () => number;
}

/**
 * Turns the ticks of a partition into feature rows, in offset order. Scoring and
 * restoring push ticks through the same steps (decode, validate, order check,
 * window), so a restored window is the window a continuous consumer would hold;
 * only scoring emits rows, dead letters, drift observations and sequence counts.
 */
export class StreamFeatures {
  private readonly scratch = new Float64Array(FEATURE_COUNT);
  private readonly now: () => number;

  constructor(private readonly opts: StreamFeaturesOptions) {
    this.now = opts.now ?? Date.now;
  }

  score(partition: number, messages: readonly KafkaMessage[], start: number, end: number): ScoredChunk {
    const chunk: ScoredChunk = { input: new Float32Array((end - start) * FEATURE_COUNT), rows: 0, ticks: [], offsets: [], complete: [], deadLetters: [] };
    const now = this.now();
    for (let i = start; i < end; i++) {
      const message = messages[i]!;
      const pushed = this.push(partition, message, now, true);
      if (pushed instanceof Error) {
        chunk.deadLetters.push({ message, reason: reasonOf(pushed), error: pushed });
        continue;
      }
      const { tick, window } = pushed;
      const row = window.features(this.scratch);
      const bad = firstOutOfDomain(row);
      if (bad >= 0) {
        const error = new FeatureDomainError(`the tick's ${FEATURE_NAMES[bad]} ${featureValueProblem(bad, row[bad]!)}`);
        chunk.deadLetters.push({ message, reason: 'schema', error });
        continue;
      }
      const complete = window.complete;
      chunk.input.set(row, chunk.rows * FEATURE_COUNT);
      if (complete) this.opts.observe?.(row);
      chunk.rows++;
      chunk.ticks.push(tick);
      chunk.offsets.push(message.offset);
      chunk.complete.push(complete);
    }
    return chunk;
  }

  /** Pushes the messages into their windows without scoring anything; returns how many were ticks. */
  restore(partition: number, messages: readonly KafkaMessage[], start: number, end: number): number {
    const now = this.now();
    let ticks = 0;
    for (let i = start; i < end; i++) if (!(this.push(partition, messages[i]!, now, false) instanceof Error)) ticks++;
    return ticks;
  }

  private push(partition: number, message: KafkaMessage, now: number, scoring: boolean) {
    let tick: Tick;
    try {
      tick = decodeTick(message);
    } catch (err) {
      return err as Error;
    }
    const entry = this.opts.states.get(partition, tick.productId, now);
    const newest = entry.window.lastTimeMs;
    if (tick.timeMs < newest - this.opts.maxOutOfOrderMs) {
      return new OutOfOrderTickError(`tick is ${newest - tick.timeMs} ms older than the newest ${tick.productId} tick; the tolerance is ${this.opts.maxOutOfOrderMs} ms`);
    }
    if (scoring && entry.lastSequence >= 0) {
      if (tick.sequence <= entry.lastSequence) this.opts.onSequenceAnomaly?.('reset');
      else if (tick.sequence > entry.lastSequence + 1) this.opts.onSequenceAnomaly?.('gap');
    }
    entry.lastSequence = tick.sequence;
    entry.window.push(tick);
    return { tick, window: entry.window };
  }
}

function reasonOf(err: Error): DeadLetterReason {
  if (err instanceof MalformedTickError) return 'malformed';
  if (err instanceof OutOfOrderTickError) return 'out_of_order';
  return 'schema';
}

/** Decodes and validates one ticks-topic record; throws MalformedTickError or TickSchemaError. */
export function decodeTick(message: KafkaMessage): Tick {
  if (message.value === null) throw new MalformedTickError('message has no value (tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    throw new MalformedTickError(`not valid JSON: ${(err as Error).message}`);
  }
  return tickFromWire(json);
}

export function errorClassOf(err: Error): string {
  return err instanceof TickSchemaError || err instanceof MalformedTickError || err instanceof OutOfOrderTickError || err instanceof FeatureDomainError || err instanceof NonFiniteOutputError ? err.name : err.constructor.name;
}
