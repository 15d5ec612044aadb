import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { TickSimulator } from '../../../services/core/simulator';
import type { Tick } from '../../../services/core/ticks';
import { loadConsumerConfig } from '../../../services/consumer/config';
import { type Consumer, createConsumer } from '../../../services/consumer/consumer';
import { createLogger } from '../../../services/core/logger';
import { tickMessage } from '../../../services/producer/producer';
import { REPO_ROOT, brokers, createTopics, testKafka, uniqueTopic } from '../../support/kafka';

export interface Topics {
  ticks: string;
  predictions: string;
  dlq: string;
  group: string;
}

/** Fresh topics (and group id) per test; `createDlq: false` leaves the dead-letter topic missing. */
export async function freshTopics(prefix: string, opts: { partitions?: number; createDlq?: boolean; brokerList?: string[] } = {}): Promise<Topics> {
  const ticks = uniqueTopic(`${prefix}-ticks`);
  const t = { ticks, predictions: `${ticks}.predictions`, dlq: `${ticks}.dlq`, group: `${ticks}-group` };
  const list = [t.ticks, t.predictions, ...(opts.createDlq === false ? [] : [t.dlq])];
  await createTopics(list, opts.partitions ?? 3, opts.brokerList);
  return t;
}

export function consumerEnv(t: Topics, extra: Record<string, string> = {}, brokerList: string[] = brokers()): Record<string, string> {
  return {
    KAFKA_BROKERS: brokerList.join(','),
    KAFKA_GROUP_ID: t.group,
    TICKS_TOPIC: t.ticks,
    PREDICTIONS_TOPIC: t.predictions,
    DEAD_LETTER_TOPIC: t.dlq,
    METRICS_PORT: '0',
    LAG_REFRESH_MS: '300',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...extra,
  };
}

/** An in-process consumer; remember to stop() it. */
export async function startConsumer(env: Record<string, string>): Promise<{ consumer: Consumer; port: number }> {
  const config = loadConsumerConfig(env);
  const consumer = createConsumer(config, { logger: createLogger('volwatch-consumer-test', config.logLevel) });
  const { metricsPort } = await consumer.start();
  return { consumer, port: metricsPort };
}

/** Ticks from the simulator with times around now, so event-time lag is meaningful. */
export function simulatedTicks(n: number, seed = 7, startMs = Date.now() - 5000): Tick[] {
  const sim = new TickSimulator({ seed, startMs, rateMultiplier: 50 });
  return Array.from({ length: n }, () => sim.next());
}

/**
 * The tests' tick producer. Idempotent, one request at a time: a request retried under load
 * must not write its records twice, or a test would count the fixture's duplicates as the consumer's.
 */
export const fixtureProducer = (kafka: Kafka): Producer => kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });

export async function produce(kafka: Kafka, topic: string, messages: { key: string | null; value: string | null }[]): Promise<void> {
  const producer = fixtureProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  } finally {
    await producer.disconnect();
  }
}

export const produceTicks = (kafka: Kafka, topic: string, ticks: Tick[]): Promise<void> =>
  produce(
    kafka,
    topic,
    ticks.map((t) => {
      const m = tickMessage(t);
      return { key: m.key as string, value: m.value as string };
    }),
  );

export interface Record_ {
  partition: number;
  message: KafkaMessage;
}

/** Reads every record of a topic up to its current end offsets. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Record_[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const wanted = [...ends.values()].reduce((a, b) => a + b, 0n);
  const out: Record_[] = [];
  if (wanted === 0n) return out;
  const consumer = kafka.consumer({ groupId: uniqueTopic('reader'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    const seen = new Map<number, bigint>();
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (BigInt(message.offset) < (ends.get(batch.partition) ?? 0n)) out.push({ partition: batch.partition, message });
        }
        seen.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
        if ([...ends].every(([p, end]) => end === 0n || (seen.get(p) ?? 0n) >= end)) resolve();
      },
    });
  });
  try {
    await withTimeout(done, 30_000, `reading ${topic} to its end`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until check() returns a value other than undefined. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Value of one sample; labels must match exactly the given subset. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v[0] : v)?.toString();
}

/** Offset lag per partition the way kafka_exporter computes it: log end minus committed (low when nothing is committed). */
export async function adminLag(kafka: Kafka, topic: string, group: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const c = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return new Map(ends.map((e) => [e.partition, Number(e.high) - ((c.get(e.partition) ?? -1) >= 0 ? c.get(e.partition)! : Number(e.low))]));
  } finally {
    await admin.disconnect();
  }
}

/** Spawns services/consumer/main.ts as its own node process (no npx in between, so signals reach it). */
export function spawnConsumer(env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'consumer', 'main.ts')], {
    cwd: REPO_ROOT,
    // Info at least: the port is read from the start-up log line.
    env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? env.LOG_LEVEL : 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out });
}

/** The metrics port a spawned consumer logged at start-up. */
export function loggedPort(child: { output: () => string }): number | undefined {
  const m = /"metricsPort":(\d+)/.exec(child.output());
  return m ? Number(m[1]) : undefined;
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export { testKafka, brokers };
