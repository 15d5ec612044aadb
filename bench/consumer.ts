/**
 * Consumer throughput and latency on the local Kafka broker (npm run bench:consumer).
 *
 *  (a) bare: a kafkajs eachBatch loop that only counts messages;
 *  (p) passthrough: kafkajs consume -> produce of the same records, same fetch and send
 *      settings, commit after each acknowledged batch: the floor any pipeline that
 *      writes one record per tick pays to kafkajs;
 *  (b) full: the consumer pipeline (parse, features, batch inference, drift, produce, commit);
 * all over the same pre-produced topic, in interleaved rounds (median reported), then
 *  (c) steady: the producer CLI in its own process at 2,000 ticks/s for 20 s while
 *      the full consumer runs; event-time lag = prediction record timestamp - tick time;
 *  (d) restore: a consumer joins a partition carrying 2,000 ticks/s and rebuilds its
 *      windows from the log before scoring (the 60 s window plus tolerance and slack).
 *
 * Env: KAFKA_BROKERS (default 127.0.0.1:9092; a local broker is started if none answers),
 * BENCH_TICKS (200000), BENCH_ROUNDS (3), BENCH_STEADY_RATE (2000), BENCH_STEADY_SECONDS (20).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { type ConsumerRunConfig, type EachBatchPayload, Kafka, logLevel } from 'kafkajs';
import { loadConsumerConfig } from '../services/consumer/config';
import { createConsumer } from '../services/consumer/consumer';
import { CONSUMER_METRICS } from '../services/consumer/metrics';
import { createLogger } from '../services/core/logger';
import { MemoKeyPartitioner, SEND_SLICE, sendAll } from '../services/core/kafka';
import { TickSimulator } from '../services/core/simulator';
import { produceTicks, tickMessage } from '../services/producer/producer';

const ROOT = join(__dirname, '..');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
const TICKS = Number(process.env.BENCH_TICKS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 2000);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);
const PARTITIONS = 3;
const logger = createLogger('bench-consumer', 'warn');
const kafka = new Kafka({ clientId: 'volwatch-bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
const run = randomBytes(3).toString('hex');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Consumer tuning shared by (a) and (b), so the ratio compares pipelines, not fetch settings. */
const FETCH = { maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 100 };

/** Starts the local broker when none answers; returns how to stop it again (undefined if it was already up). */
async function ensureBroker(): Promise<(() => void) | undefined> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.disconnect();
    return undefined;
  } catch {
    say(`no broker at ${BROKERS.join(',')}; starting one with scripts/kafka-local.sh`);
    const env = { ...process.env, KAFKA_PORT: /:(\d+)$/.exec(BROKERS[0]!)?.[1] ?? '9092' };
    execFileSync('bash', [join(ROOT, 'scripts/kafka-local.sh'), 'start'], { stdio: 'inherit', env });
    return () => execFileSync('bash', [join(ROOT, 'scripts/kafka-local.sh'), 'stop'], { stdio: 'inherit', env });
  }
}

async function createTopics(topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })) });
  await admin.disconnect();
}

interface Run {
  seconds: number;
  msgsPerSec: number;
  /** This process's CPU (user + system) per message over the run: stable when the machine is busy. */
  cpuMicrosPerMsg: number;
}

/**
 * A run's throughput and the CPU this process spent on it (kafkajs and the pipeline run here;
 * the broker does not), both from the group join to the last message: start-up (model load,
 * connections) is not part of the per-message cost.
 */
async function measured(fn: () => Promise<{ seconds: number; cpuMicros: number }>): Promise<Run> {
  const r = await fn();
  return { seconds: r.seconds, msgsPerSec: TICKS / r.seconds, cpuMicrosPerMsg: r.cpuMicros / TICKS };
}

/** CPU clock of this process, in microseconds. */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Runs a bare kafkajs consumer group over the topic until it has seen every tick, timed (wall
 * clock and CPU) from the group join to the end of the last batch. `handle` returns how many
 * messages of the batch it finished.
 */
async function timedKafkajsRun(topic: string, group: string, options: Partial<ConsumerRunConfig>, handle: (payload: EachBatchPayload) => Promise<number>): Promise<{ seconds: number; cpuMicros: number }> {
  const consumer = kafka.consumer({ groupId: group, ...FETCH });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let count = 0;
  let first = 0;
  let last = 0;
  let cpu0 = 0;
  let cpu1 = 0;
  // Timed from the group join, so the first fetch counts in every run.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (first === 0) [first, cpu0] = [performance.now(), cpuNow()];
  });
  await consumer.run({
    ...options,
    eachBatch: async (payload) => {
      count += await handle(payload);
      [last, cpu1] = [performance.now(), cpuNow()];
    },
  });
  while (count < TICKS) await sleep(20);
  await consumer.disconnect();
  return { seconds: (last - first) / 1000, cpuMicros: cpu1 - cpu0 };
}

const bare = (topic: string, round: number) => timedKafkajsRun(topic, `bench-bare-${run}-${round}`, {}, async ({ batch }) => batch.messages.length);

async function passthrough(topic: string, round: number): Promise<{ seconds: number; cpuMicros: number }> {
  const out = `${topic}.passthrough`;
  // The pipeline's producer settings: its partitioner, string keys.
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: MemoKeyPartitioner });
  await producer.connect();
  try {
    // The same chunking, send slices, acks and commit discipline as the pipeline, without the pipeline.
    return await timedKafkajsRun(topic, `bench-pass-${run}-${round}`, { eachBatchAutoResolve: false, autoCommit: false }, async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
      const messages = batch.messages;
      for (let i = 0; i < messages.length; i += 2000) {
        const chunk = messages.slice(i, i + 2000);
        await sendAll(producer, out, chunk.map((m) => ({ key: m.key!.toString(), value: m.value })));
        const lastOffset = chunk[chunk.length - 1]!.offset;
        resolveOffset(lastOffset);
        await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(Number(lastOffset) + 1) }] }] });
        await heartbeat();
      }
      return messages.length;
    });
  } finally {
    await producer.disconnect();
  }
}

function counter(registry: import('prom-client').Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  return metric ? metric.get().then((m) => m.values.reduce((a, v) => a + v.value, 0)) : Promise.resolve(0);
}

function consumerConfig(ticks: string, group: string, extra: Record<string, string> = {}) {
  return loadConsumerConfig({
    KAFKA_BROKERS: BROKERS.join(','),
    KAFKA_GROUP_ID: group,
    TICKS_TOPIC: ticks,
    PREDICTIONS_TOPIC: `${ticks}.predictions`,
    DEAD_LETTER_TOPIC: `${ticks}.dlq`,
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    KAFKA_MAX_BYTES_PER_PARTITION: String(FETCH.maxBytesPerPartition),
    KAFKA_MAX_WAIT_TIME_MS: String(FETCH.maxWaitTimeInMs),
    DRIFT_ENABLED: 'true',
    ...extra,
  });
}

async function full(topic: string, round: number): Promise<{ seconds: number; cpuMicros: number }> {
  const consumer = createConsumer(consumerConfig(topic, `bench-full-${run}-${round}`), { logger });
  await consumer.start();
  let first = 0;
  let cpu0 = 0;
  for (;;) {
    if (first === 0 && (await counter(consumer.metrics.registry, CONSUMER_METRICS.rebalances)) > 0) [first, cpu0] = [performance.now(), cpuNow()];
    if ((await counter(consumer.metrics.registry, CONSUMER_METRICS.processed)) >= TICKS) break;
    await sleep(first === 0 ? 1 : 5);
  }
  const [last, cpu1] = [performance.now(), cpuNow()];
  await consumer.stop();
  return { seconds: (last - first) / 1000, cpuMicros: cpu1 - cpu0 };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function steady(): Promise<{ produced: number; predictions: number; p50ms: number; p95ms: number; p99ms: number; maxMs: number }> {
  const topic = `bench-steady-${run}`;
  await createTopics([topic, `${topic}.predictions`, `${topic}.dlq`]);
  const consumer = createConsumer(consumerConfig(topic, `bench-steady-${run}`), { logger });
  await consumer.start();
  await sleep(1500); // let the group settle so the join is not measured as lag
  const child = spawn(process.execPath, ['--import', 'tsx', join('services', 'producer', 'main.ts'), '--rate', String(STEADY_RATE), '--duration', String(STEADY_SECONDS), '--topic', topic, '--seed', '5'], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: BROKERS.join(','), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`producer exited with ${code}`);
  const produced = (JSON.parse(out) as { sent: number }).sent;
  while ((await counter(consumer.metrics.registry, CONSUMER_METRICS.processed)) < produced) await sleep(50);
  await consumer.stop();

  const lags: number[] = [];
  const reader = kafka.consumer({ groupId: `bench-reader-${run}`, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topics: [`${topic}.predictions`], fromBeginning: true });
  await reader.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const p = JSON.parse(m.value!.toString()) as { event_time: string };
        lags.push(Number(m.timestamp) - Date.parse(p.event_time));
      }
    },
  });
  while (lags.length < produced) await sleep(50);
  await reader.disconnect();
  lags.sort((a, b) => a - b);
  return { produced, predictions: lags.length, p50ms: percentile(lags, 0.5), p95ms: percentile(lags, 0.95), p99ms: percentile(lags, 0.99), maxMs: lags[lags.length - 1]! };
}

/**
 * One partition at 2,000 ticks/s of event time, its records stamped with their event time as a
 * live producer's would be. The group's committed offset is put 100 s in; a new member then
 * restores the window before its first prediction: replay of (window + tolerance + slack) of ticks.
 */
async function restore(): Promise<{ replayedTicks: number; seconds: number; ticksPerSec: number }> {
  const topic = `bench-restore-${run}`;
  const rate = 2000;
  const spanSec = 110;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [`${topic}`, `${topic}.predictions`, `${topic}.dlq`].map((t) => ({ topic: t, numPartitions: 1, replicationFactor: 1 })) });
  const start = Date.now() - spanSec * 1000;
  const sim = new TickSimulator({ seed: 9, startMs: start, rateMultiplier: rate / 24 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let n = 0;
  let commitAt = -1;
  for (;;) {
    const batch = [];
    for (let i = 0; i < 5000; i++) {
      const tick = sim.next();
      if (tick.timeMs > Date.now()) break;
      if (commitAt < 0 && tick.timeMs >= start + 100_000) commitAt = n + batch.length;
      batch.push({ ...tickMessage(tick), timestamp: String(tick.timeMs) });
    }
    if (batch.length === 0) break;
    for (let i = 0; i < batch.length; i += SEND_SLICE) await producer.send({ topic, acks: -1, messages: batch.slice(i, i + SEND_SLICE) });
    n += batch.length;
    if (batch.length < 5000) break;
  }
  await producer.disconnect();
  const group = `bench-restore-${run}`;
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: String(commitAt) }] });
  await admin.disconnect();
  const consumer = createConsumer(consumerConfig(topic, group, { DRIFT_ENABLED: 'false' }), { logger });
  await consumer.start();
  while ((await counter(consumer.metrics.registry, CONSUMER_METRICS.restores)) < 1) await sleep(20);
  const metric = await consumer.metrics.registry.getSingleMetric(CONSUMER_METRICS.restoreDuration)!.get();
  const seconds = (metric.values as { metricName?: string; value: number }[]).find((v) => v.metricName === `${CONSUMER_METRICS.restoreDuration}_sum`)!.value;
  const replayedTicks = await counter(consumer.metrics.registry, CONSUMER_METRICS.restoreMessages);
  await consumer.stop();
  return { replayedTicks, seconds, ticksPerSec: replayedTicks / seconds };
}

const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const stopBroker = await ensureBroker();
  try {
    await measure();
  } finally {
    stopBroker?.();
  }
}

async function measure(): Promise<void> {
  const load = os.loadavg();
  say(`consumer benchmark: ${TICKS} ticks, ${PARTITIONS} partitions, brokers ${BROKERS.join(',')}, ${os.cpus().length} CPUs, load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const topic = `bench-ticks-${run}`;
  await createTopics([topic, `${topic}.predictions`, `${topic}.dlq`]);
  const pre = await produceTicks({ brokers: BROKERS, topic, partitions: PARTITIONS, batchSize: 5000, source: { kind: 'simulate', seed: 1, products: ['BTC-USD', 'ETH-USD', 'SOL-USD'], rate: Infinity, count: TICKS } }, { logger });
  say(`pre-produced ${pre.sent} ticks in ${pre.seconds.toFixed(1)} s`);

  await createTopics([`${topic}.passthrough`]);
  const rounds: { a: Run; p: Run; b: Run }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = await measured(() => bare(topic, r));
    const p = await measured(() => passthrough(topic, r));
    const b = await measured(() => full(topic, r));
    rounds.push({ a, p, b });
    say(`round ${r + 1}: bare ${Math.round(a.msgsPerSec)}, passthrough ${Math.round(p.msgsPerSec)}, full ${Math.round(b.msgsPerSec)} msgs/s; CPU ${a.cpuMicrosPerMsg.toFixed(2)} / ${p.cpuMicrosPerMsg.toFixed(2)} / ${b.cpuMicrosPerMsg.toFixed(2)} µs/msg`);
  }
  const a = median(rounds.map((x) => x.a), (x) => x.msgsPerSec);
  const p = median(rounds.map((x) => x.p), (x) => x.msgsPerSec);
  const b = median(rounds.map((x) => x.b), (x) => x.msgsPerSec);
  const ratio = b.msgsPerSec / a.msgsPerSec;
  const passRatio = median(rounds, (x) => x.b.msgsPerSec / x.p.msgsPerSec);
  const ratioToPass = passRatio.b.msgsPerSec / passRatio.p.msgsPerSec;
  const met = ratioToPass >= 0.7 && b.msgsPerSec >= 50_000;
  const cpu = (x: Run) => `${x.cpuMicrosPerMsg.toFixed(2)} µs CPU/msg`;
  const cpuRatio = median(rounds, (x) => x.p.cpuMicrosPerMsg / x.b.cpuMicrosPerMsg);
  say(`(a) bare eachBatch loop:  ${Math.round(a.msgsPerSec).toLocaleString('en-US')} msgs/s, ${cpu(a)} (medians of ${ROUNDS} rounds)`);
  say(`(p) passthrough:          ${Math.round(p.msgsPerSec).toLocaleString('en-US')} msgs/s, ${cpu(p)}`);
  say(`(b) full pipeline:        ${Math.round(b.msgsPerSec).toLocaleString('en-US')} msgs/s, ${cpu(b)}`);
  say(`    passthrough/full by CPU: ${(cpuRatio.p.cpuMicrosPerMsg / cpuRatio.b.cpuMicrosPerMsg).toFixed(2)}`);
  say(`    full/passthrough:     ${ratioToPass.toFixed(2)} (median of per-round ratios)  full/bare: ${ratio.toFixed(2)}  (goal >= 0.7 of passthrough and >= 50,000 msgs/s: ${met ? 'met' : 'MISSED'})`);

  const c = await steady();
  say(`(c) steady ${STEADY_RATE}/s for ${STEADY_SECONDS} s: ${c.produced} ticks, event-time lag p50 ${c.p50ms} ms, p95 ${c.p95ms} ms, p99 ${c.p99ms} ms, max ${c.maxMs} ms  (goal p99 <= 250 ms: ${c.p99ms <= 250 ? 'met' : 'MISSED'})`);
  const d = await restore();
  say(`(d) restore of a 2,000 ticks/s partition: ${d.replayedTicks.toLocaleString('en-US')} ticks replayed in ${d.seconds.toFixed(2)} s (${Math.round(d.ticksPerSec).toLocaleString('en-US')} ticks/s)`);

  const result = {
    benchmark: 'consumer',
    timestamp: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart: load, loadAverageAtEnd: os.loadavg(), node: process.version },
    settings: { ticks: TICKS, partitions: PARTITIONS, fetch: FETCH, maxBatchRows: consumerConfig(topic, 'x').maxBatchRows, steadyRate: STEADY_RATE, steadySeconds: STEADY_SECONDS },
    rounds,
    bare: a,
    passthrough: p,
    full: b,
    ratioToBare: ratio,
    ratioToPassthrough: ratioToPass,
    steady: c,
    restore: d,
    goals: { ratioToPassthroughAtLeast: 0.7, fullAtLeastMsgsPerSec: 50_000, p99LagMsAtMost: 250, met: met && c.p99ms <= 250 },
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `consumer-${result.timestamp.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${file}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.predictions`, `${topic}.dlq`, `${topic}.passthrough`, `bench-restore-${run}`, `bench-restore-${run}.predictions`, `bench-restore-${run}.dlq`, `bench-steady-${run}`, `bench-steady-${run}.predictions`, `bench-steady-${run}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:consumer failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
