import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { CONSUMER_METRICS } from '../../../services/consumer/metrics';
import { DLQ_HEADERS } from '../../../services/consumer/dead-letters';
import type { Prediction } from '../../../services/consumer/predictions';
import { tickToWire } from '../../../services/core/ticks';
import { createTopics } from '../../support/kafka';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../../support/monitoring-tools';
import {
  adminLag,
  consumerEnv,
  freshTopics,
  header,
  produce,
  produceTicks,
  readTopic,
  sample,
  scrape,
  simulatedTicks,
  startConsumer,
  testKafka,
  waitFor,
} from './helpers';

jest.setTimeout(90_000);

let kafka: Kafka;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  kafka = testKafka('volwatch-consumer-test');
  // Fail, do not skip, when the broker the orchestrator provides is not there.
  const admin = kafka.admin();
  await admin.connect().catch((err: Error) => {
    throw new Error(`Kafka is not reachable at ${process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'} (start it with: npm run kafka -- start): ${err.message}`);
  });
  await admin.disconnect();
});

afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
});

function predictionsOf(records: Awaited<ReturnType<typeof readTopic>>): Prediction[] {
  return records.map((r) => JSON.parse(r.message.value!.toString()) as Prediction);
}

const key = (p: Prediction): string => `${p.source.partition}/${p.source.offset}`;

test('N ticks with k poison messages give exactly N-k distinct predictions and k dead letters with the original coordinates in headers', async () => {
  const t = await freshTopics('poison');
  const ticks = simulatedTicks(3000);
  const messages: { key: string | null; value: string | null }[] = ticks.map((x) => ({ key: x.productId, value: JSON.stringify(tickToWire(x)) }));
  const btc = ticks.filter((x) => x.productId === 'BTC-USD');
  const newestBtc = btc[btc.length - 1]!;
  const poison = [
    { key: 'BTC-USD', value: '{"product_id":"BTC-USD","price":' }, // not JSON
    { key: 'ETH-USD', value: JSON.stringify({ ...tickToWire(ticks[1]!), price: -5, sequence: 99_000_000 }) }, // schema
    { key: null, value: null }, // tombstone
    // After all BTC ticks, one a minute older than the newest, with a new sequence: out of order.
    { key: 'BTC-USD', value: JSON.stringify(tickToWire({ ...newestBtc, timeMs: newestBtc.timeMs - 60_000, sequence: newestBtc.sequence + 10 })) },
  ];
  messages.splice(100, 0, poison[0]!);
  messages.splice(1500, 0, poison[1]!);
  messages.splice(2000, 0, poison[2]!);
  messages.push(poison[3]!);
  await produce(kafka, t.ticks, messages);

  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((sample(await scrape(port), CONSUMER_METRICS.processed) ?? 0) >= messages.length ? true : undefined), 60_000, 'all messages processed');

  const predictions = predictionsOf(await readTopic(kafka, t.predictions));
  const distinct = new Set(predictions.map(key));
  expect(distinct.size).toBe(ticks.length);
  expect(new Set(predictions.map((p) => `${p.product_id}/${p.sequence}`)).size).toBe(ticks.length);
  for (const p of predictions.slice(0, 50)) {
    expect(p.probability).toBeGreaterThanOrEqual(0);
    expect(p.probability).toBeLessThanOrEqual(1);
    expect(p.model.variant).toBe('ml');
    expect(Date.parse(p.processed_time)).toBeGreaterThanOrEqual(Date.parse(p.event_time));
  }

  const dead = await readTopic(kafka, t.dlq);
  expect(dead).toHaveLength(poison.length);
  const reasons = dead.map((d) => header(d.message.headers, DLQ_HEADERS.reason)).sort();
  expect(reasons).toEqual(['malformed', 'malformed', 'out_of_order', 'schema']);
  const classes = new Set(dead.map((d) => header(d.message.headers, DLQ_HEADERS.errorClass)));
  expect(classes).toEqual(new Set(['MalformedTickError', 'TickSchemaError', 'OutOfOrderTickError']));
  // Each dead letter points back at the original record, which still holds the same bytes.
  const originals = await readTopic(kafka, t.ticks);
  for (const d of dead) {
    expect(header(d.message.headers, DLQ_HEADERS.topic)).toBe(t.ticks);
    const partition = Number(header(d.message.headers, DLQ_HEADERS.partition));
    const offset = header(d.message.headers, DLQ_HEADERS.offset);
    const original = originals.find((o) => o.partition === partition && o.message.offset === offset);
    expect(original).toBeDefined();
    expect(d.message.value?.toString() ?? null).toBe(original!.message.value?.toString() ?? null);
    expect(header(d.message.headers, DLQ_HEADERS.errorMessage)!.length).toBeGreaterThan(5);
  }
  const text = await scrape(port);
  expect(sample(text, CONSUMER_METRICS.deadLettered, { reason: 'malformed' })).toBe(2);
  expect(sample(text, CONSUMER_METRICS.deadLettered, { reason: 'schema' })).toBe(1);
  expect(sample(text, CONSUMER_METRICS.deadLettered, { reason: 'out_of_order' })).toBe(1);
  expect(sample(text, CONSUMER_METRICS.predictions, { variant: 'ml' })).toBe(ticks.length);
  expect(sample(text, CONSUMER_METRICS.consumed)).toBe(messages.length);
});

test('at quiescence the exported offset lag equals log end minus committed offset, and the freshness gauge advances', async () => {
  const t = await freshTopics('lag');
  const ticks = simulatedTicks(1200, 11); // one simulator: sequences keep increasing across both halves
  await produceTicks(kafka, t.ticks, ticks.slice(0, 600));
  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());

  const first = await waitFor(async () => {
    const text = await scrape(port);
    return (sample(text, CONSUMER_METRICS.processed) ?? 0) >= 600 ? sample(text, CONSUMER_METRICS.lastProcessed) : undefined;
  }, 30_000, 'first 600 ticks processed');
  expect(first).toBeGreaterThan(Date.now() / 1000 - 60);

  await new Promise((r) => setTimeout(r, 1100));
  await produceTicks(kafka, t.ticks, ticks.slice(600));
  const second = await waitFor(async () => {
    const text = await scrape(port);
    return (sample(text, CONSUMER_METRICS.processed) ?? 0) >= 1200 ? sample(text, CONSUMER_METRICS.lastProcessed) : undefined;
  }, 30_000, 'next 600 ticks processed');
  expect(second! - first!).toBeGreaterThanOrEqual(1);

  // Quiescent: both views agree for every partition (after at least one refresh from the broker).
  await new Promise((r) => setTimeout(r, 800));
  const expected = await adminLag(kafka, t.ticks, t.group);
  const text = await scrape(port);
  expect(expected.size).toBe(3);
  for (const [partition, lag] of expected) {
    expect(sample(text, CONSUMER_METRICS.offsetLag, { consumergroup: t.group, topic: t.ticks, partition: String(partition) })).toBe(lag);
    expect(sample(text, CONSUMER_METRICS.groupOffsetLag, { consumergroup: t.group, topic: t.ticks, partition: String(partition) })).toBe(lag);
  }
  // Caught up on an idle stream: fresh as of the last lag refresh, not as of the last tick.
  expect(sample(text, CONSUMER_METRICS.eventLagLast)).toBe(0);
  await new Promise((r) => setTimeout(r, 700));
  expect(sample(await scrape(port), CONSUMER_METRICS.lastProcessed)!).toBeGreaterThan(second! + 1);
  expect([...expected.values()]).toEqual([0, 0, 0]);
  expect(sample(text, CONSUMER_METRICS.assignedPartitions)).toBe(3);
  expect(sample(text, CONSUMER_METRICS.rebalances)).toBeGreaterThanOrEqual(1);
  expect(sample(text, CONSUMER_METRICS.connected)).toBe(1);
  // At least once: a redelivery (e.g. after a rebalance) is predicted again and counted as a duplicate.
  const predicted = sample(text, CONSUMER_METRICS.predictions, { variant: 'ml' })!;
  expect(predicted - sample(text, CONSUMER_METRICS.duplicates)!).toBe(1200);
  expect(sample(text, `${CONSUMER_METRICS.eventLag}_count`)).toBe(predicted);
  expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
});

test('when the dead-letter publish fails the offset is not committed, the lag shows it, and the batch succeeds once the topic exists', async () => {
  const t = await freshTopics('dlqfail', { partitions: 1, createDlq: false });
  const ticks = simulatedTicks(200, 21);
  await produce(kafka, t.ticks, [{ key: 'BTC-USD', value: 'garbage' }, ...ticks.map((x) => ({ key: x.productId, value: JSON.stringify(tickToWire(x)) }))]);
  const { consumer, port } = await startConsumer(consumerEnv(t, { MAX_CRASH_RESTARTS: '100' }));
  stops.push(() => consumer.stop());

  await waitFor(async () => ((sample(await scrape(port), CONSUMER_METRICS.errors, { type: 'dead_letter_failed' }) ?? 0) >= 1 ? true : undefined), 60_000, 'a failed dead-letter publish');
  await new Promise((r) => setTimeout(r, 1000));
  const stuck = await adminLag(kafka, t.ticks, t.group);
  expect(stuck.get(0)).toBe(201); // nothing committed: not even the valid ticks after the poison message
  expect(sample(await scrape(port), CONSUMER_METRICS.offsetLag, { consumergroup: t.group, topic: t.ticks, partition: '0' })).toBe(201);
  expect(sample(await scrape(port), CONSUMER_METRICS.processed)).toBe(0);

  await createTopics([t.dlq], 1);
  await waitFor(async () => ((await adminLag(kafka, t.ticks, t.group)).get(0) === 0 ? true : undefined), 90_000, 'the partition to be committed to its end');
  const predictions = predictionsOf(await readTopic(kafka, t.predictions));
  expect(new Set(predictions.map(key)).size).toBe(200);
  const dead = await readTopic(kafka, t.dlq);
  expect(dead.map((d) => header(d.message.headers, DLQ_HEADERS.offset))).toContain('0');
});

test('switching the variant file changes the variant carried by new predictions', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'volwatch-variant-'));
  const file = path.join(dir, 'variant');
  writeFileSync(file, 'ml\n');
  try {
    const t = await freshTopics('switch', { partitions: 1 });
    const { consumer, port } = await startConsumer(consumerEnv(t, { MODEL_VARIANT_FILE: file, MODEL_VARIANT_POLL_MS: '100' }));
    stops.push(() => consumer.stop());
    const ticks = simulatedTicks(200, 31);
    await produceTicks(kafka, t.ticks, ticks.slice(0, 100));
    await waitFor(async () => ((sample(await scrape(port), CONSUMER_METRICS.processed) ?? 0) >= 100 ? true : undefined), 30_000, 'first ticks processed');
    writeFileSync(file, 'baseline\n');
    await waitFor(async () => (sample(await scrape(port), CONSUMER_METRICS.modelInfo, { variant: 'baseline' }) === 1 ? true : undefined), 10_000, 'the baseline to be served');
    await produceTicks(kafka, t.ticks, ticks.slice(100));
    await waitFor(async () => ((sample(await scrape(port), CONSUMER_METRICS.processed) ?? 0) >= 200 ? true : undefined), 30_000, 'second ticks processed');

    const variants = predictionsOf(await readTopic(kafka, t.predictions)).map((p) => p.model.variant);
    expect(variants.slice(0, 100)).toEqual(Array(100).fill('ml'));
    expect(variants.slice(100)).toEqual(Array(100).fill('baseline'));
    const text = await scrape(port);
    expect(sample(text, CONSUMER_METRICS.predictions, { variant: 'baseline' })).toBe(100);
    expect(sample(text, CONSUMER_METRICS.modelSwitches, { from: 'ml', to: 'baseline' })).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Prometheus 3.14's promtool (scripts/monitoring-tools.sh), not Debian's 2.42.
let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

test('a live scrape passes promtool check metrics', async () => {
  const t = await freshTopics('promtool', { partitions: 2 });
  await produceTicks(kafka, t.ticks, simulatedTicks(300, 41));
  await produce(kafka, t.ticks, [{ key: 'X', value: 'not json' }]);
  const { consumer, port } = await startConsumer(consumerEnv(t));
  stops.push(() => consumer.stop());
  await waitFor(async () => ((sample(await scrape(port), CONSUMER_METRICS.processed) ?? 0) >= 301 ? true : undefined), 30_000, 'ticks processed');
  const text = await scrape(port);
  for (const name of Object.values(CONSUMER_METRICS)) expect(text).toContain(`# TYPE ${name}`);
  // DRIFT_ENABLED defaults to true: the drift monitor's series share the registry, under the consumer prefix.
  expect(text).toContain('# TYPE volwatch_consumer_drift_reference_available gauge');
  const result = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }));
    child.stdin!.end(text);
  });
  expect(result.out).toBe('');
  expect(result.code).toBe(0);
});
