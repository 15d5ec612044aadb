import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, CompressionTypes, type Message, Partitioners } from 'kafkajs';
import { type KafkaClientConfig, createKafka } from '../core/kafka';
import type { Logger } from '../core/logger';
import { type Tick, tickToWire } from '../core/ticks';
import { TokenBucket } from './pacer';
import { TickSender } from './sender';
import { DriftInjector, type DriftRule, NaturalPaceSource, ReplaySource, SimulatedSource, productSpecs, readReplayFile } from './sources';

export type TickSourceOptions =
  | {
      readonly kind: 'simulate';
      readonly seed: number;
      readonly products: readonly string[];
      /**
       * Ticks per second (Infinity: as fast as the broker takes them), or 'natural': when the
       * simulated market trades (the pace of the training data).
       */
      readonly rate: number | 'natural';
      /** Stop after this many seconds (undefined: until count, or until aborted). */
      readonly durationSec?: number;
      /** Stop after this many ticks. */
      readonly count?: number;
    }
  | {
      readonly kind: 'replay';
      readonly file: string;
      /** 1 = recorded speed, 10 = ten times faster, Infinity = as fast as possible. */
      readonly speed: number;
      readonly keepTime: boolean;
    };

export interface ProducerOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Partitions for the topic if it has to be created. */
  readonly partitions: number;
  readonly source: TickSourceOptions;
  readonly drift?: { readonly afterSec: number; readonly rules: readonly DriftRule[] };
  /** Most messages per produce request. */
  readonly batchSize: number;
  readonly clientId?: string;
  readonly sasl?: KafkaClientConfig['sasl'];
}

export interface ProduceSummary {
  readonly topic: string;
  /** Ticks made by the source. */
  readonly generated: number;
  /** Ticks acknowledged by Kafka. */
  readonly sent: number;
  /** Ticks given up during an outage because the buffer was full (oldest first). */
  readonly dropped: number;
  /** Ticks still buffered when the run ended and the flush timed out. */
  readonly unsent: number;
  readonly drifted: number;
  readonly seconds: number;
  readonly ratePerSecond: number;
}

/** Creates the topic when it does not exist (the broker may not auto-create). */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<boolean> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return false;
  return admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
}

export function tickMessage(t: Tick): Message {
  return { key: t.productId, value: JSON.stringify(tickToWire(t)) };
}

/** How long the producer keeps trying to deliver what it buffered once its run is over. */
const FLUSH_TIMEOUT_MS = 30_000;
/** Ticks held through a broker outage (about 50 s at 2,000 ticks/s). */
const MAX_BUFFERED = 100_000;

/**
 * Streams ticks into the topic, keyed by product so each product's ticks stay
 * in order within one partition. Sends are batched: the pacer releases tokens,
 * and every release goes out as one produce request. Kafka being away does not
 * end the run: the sender keeps the ticks and retries with backoff; a live
 * (paced) simulation keeps generating into a bounded buffer meanwhile, anything
 * else waits. The summary says what was sent, dropped and left unsent.
 */
export async function produceTicks(opts: ProducerOptions, deps: { logger: Logger; signal?: AbortSignal }): Promise<ProduceSummary> {
  const { logger, signal } = deps;
  const src = opts.source;
  // A bad replay file is reported before anything touches Kafka.
  const recorded = src.kind === 'replay' ? readReplayFile(src.file) : undefined;
  const kafka = createKafka({ clientId: opts.clientId ?? 'volwatch-producer', brokers: opts.brokers, sasl: opts.sasl }, logger);
  const admin = kafka.admin();
  // kafkajs's own retries resend only the partitions that failed (a leader moving, a topic just
  // created); the sender's retries, for outages longer than these, resend whole requests.
  // Idempotent, so a request resent after a lost acknowledgement is not written twice; one
  // request at a time, since kafkajs drops records of concurrent idempotent sends
  // (tulios/kafkajs#1005).
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, retry: { retries: 12, maxRetryTime: 5000 } });
  await admin.connect();
  try {
    if (await ensureTopic(admin, opts.topic, opts.partitions)) logger.info({ topic: opts.topic, partitions: opts.partitions }, 'created topic');
  } finally {
    await admin.disconnect();
  }
  await producer.connect();

  const started = performance.now();
  const wallStart = Date.now();
  const natural = src.kind === 'simulate' && src.rate === 'natural' ? new NaturalPaceSource(src.seed, productSpecs(src.products), wallStart) : undefined;
  const sim = src.kind === 'simulate' && src.rate !== 'natural' ? new SimulatedSource(src.seed, productSpecs(src.products), src.rate) : undefined;
  const replay = src.kind === 'replay' && recorded ? new ReplaySource(recorded, src.speed, src.keepTime, wallStart) : undefined;
  // Sources whose ticks fall due at times of their own (the market's pace, a recording).
  const timed = natural ?? replay;
  const limit = src.kind === 'simulate' ? (src.count ?? Infinity) : replay!.remaining;
  const endAt = src.kind === 'simulate' && src.durationSec !== undefined ? started + src.durationSec * 1000 : Infinity;
  const rate = src.kind === 'simulate' && src.rate !== 'natural' ? src.rate : Infinity;
  const live = natural !== undefined || Number.isFinite(rate);
  // A bucket of ~50 ms of ticks: smooth at 2,000/s, yet few requests per second.
  const bucket = new TokenBucket(rate, live ? Math.max(1, Math.min(opts.batchSize, rate / 20)) : 1);
  const drift = opts.drift ? { atMs: wallStart + opts.drift.afterSec * 1000, injector: new DriftInjector(opts.drift.rules) } : undefined;
  // One request at a time (see the producer above), which also keeps a paced stream in order.
  const sender = new TickSender(producer, { topic: opts.topic, batchSize: opts.batchSize, maxInFlight: 1, maxBuffered: Math.max(MAX_BUFFERED, opts.batchSize), backoffMs: { initial: 250, max: 10_000 }, compression: CompressionTypes.None, logger });
  let generated = 0;
  let drifted = 0;
  let lastLog = started;

  try {
    while (generated < limit && performance.now() < endAt && !signal?.aborted) {
      // A live feed does not wait for Kafka (the buffer absorbs an outage); a file or an unpaced run can.
      if (!live) await sender.ready();
      let n: number;
      if (sim) {
        const wait = bucket.waitMs();
        if (wait > 0) {
          await sleep(Math.max(1, Math.min(wait, endAt - performance.now())));
          continue;
        }
        n = bucket.take(Math.min(opts.batchSize, limit - generated));
      } else {
        if (replay?.done) break;
        const due = timed!.dueAtMs() - Date.now();
        if (due > 0) {
          await sleep(Math.max(1, Math.min(due, 1000, endAt - performance.now())));
          continue;
        }
        n = Math.min(opts.batchSize, limit - generated);
      }
      const messages: Message[] = [];
      const now = Date.now();
      for (let i = 0; i < n; i++) {
        if (replay?.done || (timed && timed.dueAtMs() > now)) break;
        let tick = sim ? sim.next(now) : natural ? natural.next() : replay!.next(now);
        if (drift && tick.timeMs >= drift.atMs) {
          tick = drift.injector.apply(tick);
          drifted++;
        }
        messages.push(tickMessage(tick));
      }
      generated += messages.length;
      sender.enqueue(messages);
      const t = performance.now();
      if (t - lastLog >= 5000) {
        lastLog = t;
        logger.info({ generated, sent: sender.sent, buffered: sender.buffered, dropped: sender.dropped, ratePerSecond: Math.round(sender.sent / ((t - started) / 1000)) }, 'producing');
      }
    }
    await sender.flush(FLUSH_TIMEOUT_MS);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  const seconds = (performance.now() - started) / 1000;
  return { topic: opts.topic, generated, sent: sender.sent, dropped: sender.dropped, unsent: sender.buffered, drifted, seconds, ratePerSecond: sender.sent / seconds };
}
