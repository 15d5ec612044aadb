import type { Kafka, Producer } from 'kafkajs';
import { CONSUMER_METRICS } from '../../../services/consumer/metrics';
import type { Prediction } from '../../../services/consumer/predictions';
import { TickSimulator } from '../../../services/core/simulator';
import { tickMessage } from '../../../services/producer/producer';
import { createTopics, uniqueTopic } from '../../support/kafka';
import { adminLag, consumerEnv, exited, fixtureProducer, freshTopics, loggedPort, readTopic, sample, scrape, spawnConsumer, startConsumer, testKafka, waitFor } from './helpers';

// Three members join, leave, crash and come back while ticks flow; a fourth consumer in a group
// of its own reads the same ticks without interruption. Timing-sensitive (session timeouts, pauses):
// a serial suite, so it runs alone.
jest.setTimeout(420_000);

let kafka: Kafka;
const members: ReturnType<typeof spawnConsumer>[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(() => {
  kafka = testKafka('volwatch-membership-test');
});
afterAll(async () => {
  for (const m of members) if (m.exitCode === null && m.signalCode === null) m.kill('SIGKILL');
  while (stops.length > 0) await stops.pop()!();
});

const RATE = 300; // ticks per second over six products

/** Live ticks, stamped with the wall clock as they are sent, until stop(). */
function stream(producer: Producer, topic: string): { stop: () => Promise<number> } {
  const sim = new TickSimulator({ seed: 91, startMs: Date.now(), rateMultiplier: 10, products: ['BTC-USD', 'ETH-USD', 'SOL-USD', 'ADA-USD', 'XRP-USD', 'DOT-USD'].map((productId, i) => ({ productId, startPrice: 100 * (i + 1), typicalSize: 1 })) });
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      const now = Date.now();
      const messages = Array.from({ length: RATE / 20 }, () => tickMessage({ ...sim.next(), timeMs: now }));
      await producer.send({ topic, acks: -1, messages });
      sent += messages.length;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

interface Event {
  readonly at: number;
  readonly what: string;
}

test('joins, a graceful leave, a kill -9 with an immediate restart and partitions moving back: every tick predicted, every probability the uninterrupted consumer\'s', async () => {
  const t = await freshTopics('members', { partitions: 3 });
  const refPredictions = uniqueTopic('members-reference.predictions');
  await createTopics([refPredictions], 3);
  const producer = fixtureProducer(kafka);
  await producer.connect();
  stops.push(() => producer.disconnect());

  const reference = await startConsumer(consumerEnv({ ...t, group: `${t.group}-reference`, predictions: refPredictions }));
  stops.push(() => reference.consumer.stop());

  const events: Event[] = [];
  const started = Date.now();
  const mark = (what: string) => events.push({ at: Date.now(), what });
  const env = consumerEnv(t, { KAFKA_SESSION_TIMEOUT_MS: '10000', KAFKA_HEARTBEAT_INTERVAL_MS: '1000' });
  const join = async (name: string) => {
    const m = spawnConsumer({ ...env, KAFKA_CLIENT_ID: name });
    members.push(m);
    const port = await waitFor(() => {
      if (m.exitCode !== null) throw new Error(`${name} exited early:\n${m.output()}`);
      return loggedPort(m);
    }, 60_000, `${name} to start`);
    mark(`${name} joins`);
    return { m, port };
  };
  const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

  const ticks = stream(producer, t.ticks);
  const a = await join('a');
  await sleep(65); // past the first minute: from here on windows are complete
  const b = await join('b');
  await sleep(12);
  const c = await join('c');
  await sleep(12);
  mark('b leaves (SIGTERM)');
  b.m.kill('SIGTERM');
  await exited(b.m);
  await sleep(12);
  mark('c killed (SIGKILL), restarted at once');
  c.m.kill('SIGKILL');
  await exited(c.m);
  const c2 = await join('c2');
  await sleep(18);
  const b2 = await join('b2');
  await sleep(12);
  const sent = await ticks.stop();
  mark('producer stops');

  const drained = async (group: string) => ([...(await adminLag(kafka, t.ticks, group)).values()].every((v) => v === 0) ? true : undefined);
  await waitFor(() => drained(t.group), 120_000, 'the group to catch up');
  await waitFor(() => drained(`${t.group}-reference`), 120_000, 'the reference consumer to catch up');
  const restoreSeconds: number[] = [];
  for (const m of [a, c2, b2]) {
    const text = await scrape(m.port);
    const count = sample(text, `${CONSUMER_METRICS.restoreDuration}_count`) ?? 0;
    const sum = sample(text, `${CONSUMER_METRICS.restoreDuration}_sum`) ?? 0;
    if (count > 0) restoreSeconds.push(sum / count);
    m.m.kill('SIGTERM');
  }
  for (const m of [a, c2, b2]) await exited(m.m);

  const parse = (records: Awaited<ReturnType<typeof readTopic>>) => records.map((r) => JSON.parse(r.message.value!.toString()) as Prediction);
  const group = parse(await readTopic(kafka, t.predictions));
  const ref = new Map(parse(await readTopic(kafka, refPredictions)).map((p) => [`${p.source.partition}/${p.source.offset}`, p]));
  const ticksInTopic = (await readTopic(kafka, t.ticks)).length;
  expect(ticksInTopic).toBe(sent);
  expect(ref.size).toBe(sent);

  // Every tick predicted at least once by the group.
  const seen = new Set(group.map((p) => `${p.source.partition}/${p.source.offset}`));
  expect(seen.size).toBe(sent);
  // Every prediction — the repeated ones after the crash included — on the same window as the reference.
  const mismatches = group.filter((p) => {
    const r = ref.get(`${p.source.partition}/${p.source.offset}`)!;
    return r.probability !== p.probability || r.window_complete !== p.window_complete;
  });
  const incompleteAtStart = mismatches.filter((p) => !p.window_complete && Date.parse(p.event_time) < started + 60_000);
  expect({ mismatches: mismatches.length - incompleteAtStart.length, examples: mismatches.slice(0, 3) }).toEqual({ mismatches: 0, examples: [] });

  // How long each change paused each partition: the longest gap between consecutive predictions
  // that began after the change (or just before it) and before the next one.
  const pause = events.map(() => new Map<number, number>());
  const byPartition = new Map<number, number[]>();
  for (const p of group) byPartition.set(p.source.partition, [...(byPartition.get(p.source.partition) ?? []), Date.parse(p.processed_time)]);
  for (const [partition, times] of byPartition) {
    times.sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) {
      let e = events.length - 1;
      while (e >= 0 && events[e]!.at - 1000 > times[i - 1]!) e--;
      if (e >= 0) pause[e]!.set(partition, Math.max(pause[e]!.get(partition) ?? 0, times[i]! - times[i - 1]!));
    }
  }
  const lines = events.map((e, i) => {
    const parts = [...pause[i]!.entries()].sort(([x], [y]) => x - y).map(([partition, ms]) => `p${partition} ${(ms / 1000).toFixed(1)} s`);
    return `${((e.at - started) / 1000).toFixed(0).padStart(4)} s  ${e.what.padEnd(40)} longest pause: ${parts.join(', ')}`;
  });
  console.log(
    `membership test: ${sent} ticks, ${group.length} group predictions (${group.length - sent} repeated), ${ref.size} reference predictions, 0 differing\n` +
      `mean restore per member: ${restoreSeconds.map((s) => `${s.toFixed(2)} s`).join(', ')}\n${lines.join('\n')}`,
  );
  // A crashed member's partition waits for its session (10 s) to expire; the others must not wait much longer.
  const crash = events.find((e) => e.what.startsWith('c killed'))!;
  const afterCrash = group.filter((p) => Date.parse(p.processed_time) > crash.at);
  expect(afterCrash.length).toBeGreaterThan(0);
});
