import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../services/core/logger';
import { parseTick } from '../../../services/core/ticks';
import { produceTicks } from '../../../services/producer/producer';
import { REPO_ROOT, brokers, testKafka, uniqueTopic } from '../../support/kafka';
import { readTopic } from '../consumer/helpers';

jest.setTimeout(60_000);
let kafka: Kafka;
const logger = createLogger('volwatch-producer-test', 'silent');

beforeAll(async () => {
  kafka = testKafka('volwatch-producer-test');
  const admin = kafka.admin();
  await admin.connect().catch((err: Error) => {
    throw new Error(`Kafka is not reachable at ${brokers().join(',')} (start it with: npm run kafka -- start): ${err.message}`);
  });
  await admin.disconnect();
});

test('simulated ticks are paced to the rate, keyed by product, and each product stays in order in one partition of a created topic', async () => {
  const topic = uniqueTopic('produce-sim');
  const summary = await produceTicks(
    { brokers: brokers(), topic, partitions: 3, batchSize: 500, source: { kind: 'simulate', seed: 1, products: ['BTC-USD', 'ETH-USD', 'SOL-USD', 'ADA-USD'], rate: 1500, count: 3000 } },
    { logger },
  );
  expect(summary.sent).toBe(3000);
  // 3,000 ticks at 1,500/s cannot take much less than two seconds.
  expect(summary.seconds).toBeGreaterThan(1.8);
  expect(summary.seconds).toBeLessThan(20); // generous: the machine is shared

  const admin = kafka.admin();
  await admin.connect();
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.disconnect();
  expect(meta.topics[0]!.partitions).toHaveLength(3);

  const records = await readTopic(kafka, topic);
  expect(records).toHaveLength(3000);
  const partitionOf = new Map<string, number>();
  const lastSeq = new Map<string, number>();
  const byOffset = [...records].sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset));
  for (const r of byOffset) {
    const tick = parseTick(r.message.value!.toString());
    expect(r.message.key!.toString()).toBe(tick.productId);
    expect(partitionOf.get(tick.productId) ?? r.partition).toBe(r.partition);
    partitionOf.set(tick.productId, r.partition);
    expect(tick.sequence).toBeGreaterThan(lastSeq.get(tick.productId) ?? -1);
    lastSeq.set(tick.productId, tick.sequence);
    expect(Math.abs(Date.now() - tick.timeMs)).toBeLessThan(60_000); // rebased to the wall clock
  }
  expect(partitionOf.size).toBe(4);
});

test('at the natural pace the ticks arrive when the simulated market trades, stamped with that moment', async () => {
  const topic = uniqueTopic('produce-natural');
  const t0 = Date.now();
  const summary = await produceTicks({ brokers: brokers(), topic, partitions: 1, batchSize: 1000, source: { kind: 'simulate', seed: 2, products: ['BTC-USD', 'ETH-USD', 'SOL-USD'], rate: 'natural', durationSec: 4 } }, { logger });
  // 4 s at 12 to 36 trades a second (all calm to all volatile).
  expect(summary.sent).toBeGreaterThanOrEqual(24);
  expect(summary.sent).toBeLessThanOrEqual(200);
  const ticks = (await readTopic(kafka, topic)).map((r) => parseTick(r.message.value!.toString()));
  expect(ticks).toHaveLength(summary.sent);
  // The simulated clock starts when the producer is connected (later than t0 on a busy machine)
  // and runs for the 4 s; no tick is stamped before it started or after it was sent.
  const first = Math.min(...ticks.map((t) => t.timeMs));
  for (const t of ticks) {
    expect(t.timeMs).toBeGreaterThanOrEqual(t0);
    expect(t.timeMs).toBeLessThanOrEqual(first + 4000);
    expect(t.timeMs).toBeLessThanOrEqual(Date.now());
  }
  // Poisson arrivals, not a metronome: the gaps between one product's trades vary.
  const gaps = ticks.filter((t) => t.productId === 'BTC-USD').map((t, i, a) => (i > 0 ? t.timeMs - a[i - 1]!.timeMs : NaN)).slice(1);
  expect(new Set(gaps).size).toBeGreaterThan(3);
});

test('the CLI replays a JSONL file at max speed with drift and prints a summary line', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'volwatch-replay-'));
  try {
    const file = path.join(dir, 'ticks.jsonl');
    const lines = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ product_id: 'ETH-USD', price: '3200.00', best_bid: '3199.99', best_ask: '3200.01', last_size: '0.1', time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), sequence: 100 + i }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const topic = uniqueTopic('produce-replay');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'producer', 'main.ts'), '--replay', file, '--speed', 'max', '--topic', topic, '--partitions', '1', '--drift', 'size=scale:10', '--drift-after', '0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(JSON.parse(stdout)).toMatchObject({ topic, sent: 50, drifted: 50 });
    const ticks = (await readTopic(kafka, topic)).map((r) => parseTick(r.message.value!.toString()));
    expect(ticks.map((t) => t.sequence)).toEqual(lines.map((_, i) => 100 + i));
    expect(ticks.every((t) => Math.abs(t.lastSize - 1) < 1e-9)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
