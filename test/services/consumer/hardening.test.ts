import type { Kafka } from 'kafkajs';
import { DLQ_HEADERS } from '../../../services/consumer/dead-letters';
import { CONSUMER_METRICS } from '../../../services/consumer/metrics';
import type { Prediction } from '../../../services/consumer/predictions';
import { TickSimulator } from '../../../services/core/simulator';
import { type Tick, tickToWire } from '../../../services/core/ticks';
import { consumerEnv, exited, freshTopics, header, loggedPort, produce, produceTicks, readTopic, sample, scrape, spawnConsumer, startConsumer, testKafka, waitFor } from './helpers';

jest.setTimeout(180_000);

let kafka: Kafka;
const stops: (() => Promise<void>)[] = [];
beforeAll(() => {
  kafka = testKafka('volwatch-hardening-test');
});
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
});

const predictionsOf = (records: Awaited<ReturnType<typeof readTopic>>): Prediction[] => records.map((r) => JSON.parse(r.message.value!.toString()) as Prediction);
const processed = async (port: number) => sample(await scrape(port), CONSUMER_METRICS.processed) ?? 0;

/** Ticks at the simulator's natural pace (about 24 a second over three products), so windows fill over real event time. */
function slowTicks(n: number, seed: number, startMs: number): Tick[] {
  const sim = new TickSimulator({ seed, startMs });
  return Array.from({ length: n }, () => sim.next());
}

test('bursts of poison larger than a produce request (300 of 4 KB, two of 512 KB) are all dead-lettered and the partition moves on', async () => {
  const t = await freshTopics('burst', { partitions: 1 });
  const ticks = slowTicks(50, 5, Date.now() - 10_000);
  const small = Array.from({ length: 300 }, (_, i) => ({ key: 'BTC-USD', value: `${'x'.repeat(4096)}${i}` }));
  const big = [0, 1].map((i) => ({ key: 'BTC-USD', value: `${String(i)}${'y'.repeat(512 * 1024)}` }));
  const wire = (xs: Tick[]) => xs.map((x) => ({ key: x.productId, value: JSON.stringify(tickToWire(x)) }));
  for (let i = 0; i < small.length; i += 100) await produce(kafka, t.ticks, small.slice(i, i + 100));
  await produce(kafka, t.ticks, wire(ticks.slice(0, 25)));
  for (const b of big) await produce(kafka, t.ticks, [b]);
  await produce(kafka, t.ticks, wire(ticks.slice(25)));
  const total = small.length + big.length + ticks.length;

  // Large fetches put each burst in one chunk, as a consumer that fell behind would see it.
  const { consumer, port } = await startConsumer(consumerEnv(t, { KAFKA_MAX_BYTES_PER_PARTITION: String(4 * 1024 * 1024), MAX_CRASH_RESTARTS: '1' }));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((await processed(port)) >= total ? true : undefined), 90_000, 'every message processed');

  const dead = await readTopic(kafka, t.dlq);
  expect(dead).toHaveLength(302);
  const values = dead.map((d) => d.message.value!.toString());
  expect(values.filter((v) => v.startsWith('xxxx')).map((v) => v.slice(4096)).sort((a, b) => Number(a) - Number(b))).toEqual(small.map((_, i) => String(i)));
  // The two big ones fit under the broker's limit alone: kept whole, no truncation header.
  expect(values.filter((v) => v.length === 512 * 1024 + 1)).toHaveLength(2);
  expect(dead.every((d) => header(d.message.headers, DLQ_HEADERS.valueTruncated) === undefined)).toBe(true);
  expect(predictionsOf(await readTopic(kafka, t.predictions))).toHaveLength(ticks.length);
  const text = await scrape(port);
  expect(sample(text, CONSUMER_METRICS.crashes)).toBe(0);
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
});

test('a payload larger than the dead-letter topic takes is cut, marked with its size, and the partition moves on', async () => {
  const t = await freshTopics('dlqsmall', { partitions: 1, createDlq: false });
  // Created with its limit: a limit altered afterwards reaches the broker a moment later, and a
  // dead letter sent before that is accepted whole.
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: t.dlq, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '65536' }] }] });
  } finally {
    await admin.disconnect();
  }
  await produce(kafka, t.ticks, [{ key: 'BTC-USD', value: 'z'.repeat(200_000) }]);
  await produceTicks(kafka, t.ticks, slowTicks(10, 6, Date.now() - 5000));
  const { consumer, port } = await startConsumer(consumerEnv(t, { MAX_CRASH_RESTARTS: '1' }));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((await processed(port)) >= 11 ? true : undefined), 60_000, 'every message processed');
  const [d] = await readTopic(kafka, t.dlq);
  expect(header(d!.message.headers, DLQ_HEADERS.valueTruncated)).toBe('200000');
  expect(d!.message.value!.length).toBeLessThan(65_536);
  expect(d!.message.value!.toString()).toMatch(/^z+$/);
});

test('one tick with a size of 1.7e308 is dead-lettered and its product keeps finite, moving predictions', async () => {
  const t = await freshTopics('huge', { partitions: 1 });
  const ticks = slowTicks(600, 7, Date.now() - 60_000).filter((x) => x.productId === 'BTC-USD');
  const wire = ticks.map((x) => ({ key: x.productId, value: JSON.stringify(tickToWire(x)) }));
  wire.splice(20, 0, { key: 'BTC-USD', value: JSON.stringify({ ...tickToWire(ticks[19]!), last_size: 1.7e308, sequence: ticks[19]!.sequence }) });
  await produce(kafka, t.ticks, wire);
  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((await processed(port)) >= wire.length ? true : undefined), 60_000, 'every message processed');
  const preds = predictionsOf(await readTopic(kafka, t.predictions));
  expect(preds).toHaveLength(ticks.length);
  expect(preds.every((p) => typeof p.probability === 'number' && Number.isFinite(p.probability) && p.probability < 1)).toBe(true);
  expect(new Set(preds.slice(20).map((p) => p.probability)).size).toBeGreaterThan(preds.length / 2);
  const [d] = await readTopic(kafka, t.dlq);
  expect(header(d!.message.headers, DLQ_HEADERS.reason)).toBe('schema');
  expect(header(d!.message.headers, DLQ_HEADERS.errorMessage)).toContain('last_size');
});

test('a producer restart (sequences start over) does not freeze features; the reset is counted', async () => {
  const t = await freshTopics('seqreset', { partitions: 3 });
  const start = Date.now() - 10 * 60_000;
  const firstRun = slowTicks(3000, 8, start);
  // The same seed again, later: the restarted producer's sequences begin where the first run's did.
  const secondRun = slowTicks(3000, 8, firstRun[firstRun.length - 1]!.timeMs + 1000);
  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());
  await produceTicks(kafka, t.ticks, firstRun);
  await produceTicks(kafka, t.ticks, secondRun);
  await waitFor(async () => ((await processed(port)) >= 6000 ? true : undefined), 90_000, 'both runs processed');

  const preds = predictionsOf(await readTopic(kafka, t.predictions));
  expect(preds).toHaveLength(6000);
  const secondStart = secondRun[0]!.timeMs;
  for (const product of ['BTC-USD', 'ETH-USD', 'SOL-USD']) {
    const after = preds.filter((p) => p.product_id === product && Date.parse(p.event_time) >= secondStart).sort((a, b) => a.sequence - b.sequence);
    expect(after.length).toBeGreaterThan(500);
    // A frozen window repeats one probability for every tick; a live one moves with nearly every tick.
    expect(new Set(after.map((p) => p.probability)).size).toBeGreaterThan(after.length * 0.9);
  }
  expect(sample(await scrape(port), CONSUMER_METRICS.sequenceAnomalies, { kind: 'reset' })).toBe(3);
});

test('predictions are flagged until a product\'s window spans 60 s, as training drops those rows, and counted', async () => {
  const t = await freshTopics('warmup', { partitions: 1 });
  const ticks = slowTicks(3000, 9, Date.now() - 5 * 60_000);
  await produceTicks(kafka, t.ticks, ticks);
  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((await processed(port)) >= ticks.length ? true : undefined), 60_000, 'every tick processed');
  const preds = predictionsOf(await readTopic(kafka, t.predictions));
  const first = new Map<string, number>();
  for (const x of ticks) if (!first.has(x.productId)) first.set(x.productId, x.timeMs);
  let incomplete = 0;
  for (const p of preds) {
    const warm = Date.parse(p.event_time) >= first.get(p.product_id)! + 60_000;
    expect([p.product_id, p.sequence, p.window_complete]).toEqual([p.product_id, p.sequence, warm]);
    if (!warm) incomplete++;
  }
  expect(incomplete).toBeGreaterThan(100);
  expect(sample(await scrape(port), CONSUMER_METRICS.incompleteWindow)).toBe(incomplete);
});

test('memory stays flat under a stream of 100,000 new product ids', async () => {
  const t = await freshTopics('products', { partitions: 3 });
  const child = spawnConsumer(consumerEnv(t, { MAX_PRODUCTS: '2000', DRIFT_ENABLED: 'false' }));
  stops.push(async () => {
    child.kill('SIGTERM');
    await exited(child);
  });
  const port = await waitFor(() => loggedPort(child), 60_000, 'the consumer to log its port');
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(require('node:fs').readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
  const now = Date.now();
  const batch = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const id = `P${(from + i).toString(36).toUpperCase()}-USD`;
      return { key: id, value: JSON.stringify({ product_id: id, price: 100, best_bid: 99.9, best_ask: 100.1, last_size: 1, time: new Date(now).toISOString(), sequence: 1 }) };
    });
  await produce(kafka, t.ticks, batch(0, 25_000));
  await waitFor(async () => ((await processed(port)) >= 25_000 ? true : undefined), 120_000, 'the first 25,000 ids');
  const before = rss();
  for (let from = 25_000; from < 100_000; from += 25_000) await produce(kafka, t.ticks, batch(from, 25_000));
  await waitFor(async () => ((await processed(port)) >= 100_000 ? true : undefined), 180_000, 'all 100,000 ids');
  const after = rss();
  const text = await scrape(port);
  console.log(`memory test: RSS ${before.toFixed(0)} MB after 25k ids, ${after.toFixed(0)} MB after 100k ids`);
  expect(sample(text, CONSUMER_METRICS.trackedProducts)).toBe(2000);
  expect(sample(text, CONSUMER_METRICS.productEvictions, { reason: 'capacity' })).toBe(98_000);
  // Unbounded state grew by about 1 GB per 100k ids; bounded state must not grow with them.
  expect(after - before).toBeLessThan(40);
});
