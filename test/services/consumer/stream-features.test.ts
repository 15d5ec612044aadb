import { FEATURE_COUNT, TickWindow } from '../../../services/core/features';
import { TickSimulator } from '../../../services/core/simulator';
import { tickToWire } from '../../../services/core/ticks';
import { ProductStates } from '../../../services/consumer/product-state';
import { StreamFeatures } from '../../../services/consumer/stream-features';
import { BASE_TICK, record, tickRecord } from './support';

const states = (maxProducts = 1000) => new ProductStates({ maxProducts, idleEvictMs: 3_600_000 });

test('rows are the shared window features of each tick, flagged complete once the window spans 60 s', () => {
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000 });
  const ticks = [0, 30_000, 59_000, 61_000].map((ms, i) => ({ ...BASE_TICK, price: 100 + i, timeMs: BASE_TICK.timeMs + ms, sequence: i + 1 }));
  const chunk = f.score(0, ticks.map((t, i) => tickRecord(i, t)), 0, 4);
  expect(chunk.rows).toBe(4);
  expect(chunk.offsets).toEqual(['0', '1', '2', '3']);
  expect(chunk.complete).toEqual([false, false, false, true]);
  const w = new TickWindow();
  ticks.forEach((t) => w.push(t));
  expect(Array.from(chunk.input.subarray(3 * FEATURE_COUNT))).toEqual(Array.from(Float32Array.from(w.features())));
});

test('drift observes complete rows only', () => {
  const seen: number[] = [];
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000, observe: (row) => seen.push(row[0]!) });
  const msgs = Array.from({ length: 80 }, (_, i) => tickRecord(i, { timeMs: BASE_TICK.timeMs + i * 1000, sequence: i + 1 }));
  f.score(0, msgs, 0, 80);
  expect(seen).toHaveLength(20); // ticks at 60 s .. 79 s
});

test('poison messages are classified and kept out of the rows, a tick outside the domain included', () => {
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000 });
  const chunk = f.score(
    0,
    [
      tickRecord(0, {}),
      record(1, '{"price":'),
      record(2, null),
      record(3, JSON.stringify({ ...tickToWire(BASE_TICK), best_ask: 1, sequence: 9 })),
      tickRecord(4, { sequence: 5, timeMs: BASE_TICK.timeMs - 6000 }),
      tickRecord(5, { sequence: 6, timeMs: BASE_TICK.timeMs - 4000 }),
      record(6, JSON.stringify({ ...tickToWire(BASE_TICK), last_size: 1.7e308, sequence: 7 })),
    ],
    0,
    7,
  );
  expect(chunk.deadLetters.map((d) => [d.message.offset, d.reason, d.error.name])).toEqual([
    ['1', 'malformed', 'MalformedTickError'],
    ['2', 'malformed', 'MalformedTickError'],
    ['3', 'schema', 'TickSchemaError'],
    ['4', 'out_of_order', 'OutOfOrderTickError'],
    ['6', 'schema', 'TickSchemaError'],
  ]);
  // 4 s behind is inside the 5 s tolerance: scored.
  expect(chunk.offsets).toEqual(['0', '5']);
});

test('a restored partition scores exactly like one that was never interrupted', () => {
  const sim = new TickSimulator({ seed: 3, startMs: BASE_TICK.timeMs });
  const ticks = Array.from({ length: 4000 }, () => sim.next());
  const msgs = ticks.map((t, i) => tickRecord(i, t));
  const continuous = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000 });
  const reference = continuous.score(0, msgs, 0, 4000);

  const restoredStates = states();
  const restored = new StreamFeatures({ states: restoredStates, maxOutOfOrderMs: 5000 });
  restored.score(0, msgs, 0, 1000);
  restoredStates.dropPartition(0); // the partition moved away and came back
  // Replay from the last tick 65 s (window + tolerance) before the first one to score, as the restorer does.
  let from = 0;
  while (ticks[from + 1]!.timeMs <= ticks[3000]!.timeMs - 65_000) from++;
  expect(from).toBeGreaterThan(1000);
  restored.restore(0, msgs, from, 3000);
  const after = restored.score(0, msgs, 3000, 4000);
  expect(reference.rows).toBe(4000);
  expect(Array.from(after.input)).toEqual(Array.from(reference.input.subarray(3000 * FEATURE_COUNT)));
  expect(after.complete).toEqual(reference.complete.slice(3000));
});

test('a producer restart (sequence reset) and gaps are counted, and the window keeps moving', () => {
  const anomalies: string[] = [];
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000, onSequenceAnomaly: (k) => anomalies.push(k) });
  const seqs = [100, 101, 105, 1, 2];
  const chunk = f.score(0, seqs.map((s, i) => tickRecord(i, { sequence: s, price: 100 + i, timeMs: BASE_TICK.timeMs + i * 1000 })), 0, seqs.length);
  expect(anomalies).toEqual(['gap', 'reset']);
  // Every tick entered the window: ret_1s moves with each new price (a frozen window would repeat a row).
  const ret1s = Array.from({ length: chunk.rows }, (_, r) => chunk.input[r * FEATURE_COUNT]);
  expect(new Set(ret1s.slice(1)).size).toBe(4);
});

test('restoring counts no anomalies and emits nothing', () => {
  const anomalies: string[] = [];
  const seen: unknown[] = [];
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000, observe: (r) => seen.push(r), onSequenceAnomaly: (k) => anomalies.push(k) });
  const n = f.restore(0, [5, 1, 9].map((s, i) => tickRecord(i, { sequence: s, timeMs: BASE_TICK.timeMs + i * 40_000 })).concat([record(3, 'junk')]), 0, 4);
  expect(n).toBe(3);
  expect(anomalies).toEqual([]);
  expect(seen).toEqual([]);
});

test('a tick whose features would leave the model\'s domain is dead-lettered like the API would refuse the row', () => {
  const f = new StreamFeatures({ states: states(), maxOutOfOrderMs: 5000 });
  // Alternating between the edges of the price domain: each return is ±55, far beyond any rv cap over enough ticks.
  const msgs = Array.from({ length: 40_000 }, (_, i) => tickRecord(i, { price: i % 2 ? 1e12 : 1e-12, bestBid: 1e-12, bestAsk: 1e12, timeMs: BASE_TICK.timeMs + i, sequence: i + 1 }));
  const chunk = f.score(0, msgs, 0, msgs.length);
  expect(chunk.deadLetters.length).toBeGreaterThan(0);
  expect(chunk.deadLetters[0]!).toMatchObject({ reason: 'schema', error: { name: 'FeatureDomainError' } });
  expect(chunk.deadLetters[0]!.error.message).toMatch(/^the tick's rv_(30|60)s must be between 0 and 10000/);
  expect(chunk.rows + chunk.deadLetters.length).toBe(msgs.length);
});
