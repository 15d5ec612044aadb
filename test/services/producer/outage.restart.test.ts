import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { parseTick } from '../../../services/core/ticks';
import { REPO_ROOT, type PrivateBroker, privateBroker, testKafka, uniqueTopic } from '../../support/kafka';
import { exited, readTopic, waitFor } from '../consumer/helpers';

// Stops and starts Kafka: its own broker, so tests sharing the main one are not disturbed.
jest.setTimeout(240_000);

let broker: PrivateBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await privateBroker();
  await broker.run('start');
  kafka = testKafka('volwatch-producer-outage-test', broker.brokers);
}, 180_000);

afterAll(async () => {
  await broker?.dispose();
}, 60_000);

/** The producer CLI against the private broker, its output collected. */
function runProducer(topic: string, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'producer', 'main.ts'), ...args, '--topic', topic, '--brokers', broker.brokers[0]!], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = { child, out: '', err: '' };
  child.stdout!.on('data', (d: Buffer) => (io.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (io.err += d.toString()));
  return io;
}

test('a 15 s broker outage loses no tick and writes none twice: the producer keeps its sequences, retries, and reports what it sent', async () => {
  const topic = uniqueTopic('produce-outage');
  const io = runProducer(topic, ['--rate', '200', '--duration', '30', '--seed', '3']);
  const { child } = io;
  await new Promise((r) => setTimeout(r, 6000));
  await broker.run('stop');
  await new Promise((r) => setTimeout(r, 15_000));
  expect(child.exitCode).toBe(null); // it did not give up
  await broker.run('start');
  const { code } = await exited(child);
  expect({ code, err: code === 0 ? '' : io.err.slice(-3000) }).toEqual({ code: 0, err: '' });
  const summary = JSON.parse(io.out.trim().split('\n').pop()!) as { generated: number; sent: number; dropped: number; unsent: number };
  expect(summary.dropped).toBe(0);
  expect(summary.unsent).toBe(0);
  expect(summary.sent).toBe(summary.generated);
  expect(summary.generated).toBeGreaterThan(200 * 25); // it kept generating through the outage
  expect(io.err).toContain('sending ticks failed; keeping them and retrying with backoff');

  // Every generated tick is in the topic exactly once (the idempotent producer's resends of a
  // request whose acknowledgement was lost are dropped by the broker), each product's sequences
  // without a hole and in order within its partition.
  const records = await readTopic(kafka, topic);
  const seqs = new Map<string, number[]>();
  const byOffset = [...records].sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset));
  for (const r of byOffset) {
    const t = parseTick(r.message.value!.toString());
    seqs.set(t.productId, [...(seqs.get(t.productId) ?? []), t.sequence]);
  }
  let distinct = 0;
  for (const list of seqs.values()) {
    const unique = [...new Set(list)];
    distinct += unique.length;
    expect(unique).toEqual([...unique].sort((a, b) => a - b));
    expect(unique[unique.length - 1]! - unique[0]! + 1).toBe(unique.length);
  }
  expect(distinct).toBe(summary.generated);
  expect(records).toHaveLength(summary.generated);
});

test('a broker killed with SIGKILL mid-request at full speed: every tick is in the topic exactly once', async () => {
  const topic = uniqueTopic('produce-kill');
  const io = runProducer(topic, ['--rate', 'max', '--count', '400000', '--seed', '4']);
  const { child } = io;
  // Killed while requests are in flight: some are written but never acknowledged.
  await waitFor(() => (/"msg":"producing"/.test(io.err) || child.exitCode !== null ? true : undefined), 60_000, 'the producer to be producing', 50);
  expect({ ended: child.exitCode, err: child.exitCode === null ? '' : io.err.slice(-2000) }).toEqual({ ended: null, err: '' });
  process.kill(Number(readFileSync(path.join(broker.workDir, 'kafka.pid'), 'utf8').trim()), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  await broker.run('start');
  const { code } = await exited(child);
  expect({ code, err: code === 0 ? '' : io.err.slice(-3000) }).toEqual({ code: 0, err: '' });
  const summary = JSON.parse(io.out.trim().split('\n').pop()!) as { generated: number; sent: number };
  expect(summary.sent).toBe(400_000);
  const records = await readTopic(kafka, topic);
  const distinct = new Set(records.map((r) => r.message.value!.toString())).size;
  expect({ records: records.length, distinct }).toEqual({ records: 400_000, distinct: 400_000 });
});
