import type { KafkaMessage } from 'kafkajs';
import { FEATURE_COUNT, TickWindow } from '../../../services/core/features';
import { type Tick, tickToWire } from '../../../services/core/ticks';
import { DLQ_HEADERS, FeatureState, deadLetterMessage } from '../../../services/consumer/pipeline';

const base: Tick = { productId: 'BTC-USD', price: 100, bestBid: 99.99, bestAsk: 100.01, lastSize: 0.5, timeMs: 1_000_000, sequence: 1 };

function msg(offset: number, value: string | null): KafkaMessage {
  return { offset: String(offset), key: Buffer.from('BTC-USD'), value: value === null ? null : Buffer.from(value), timestamp: '1', attributes: 0, headers: {} } as KafkaMessage;
}
const tick = (offset: number, t: Partial<Tick>) => msg(offset, JSON.stringify(tickToWire({ ...base, ...t })));

test('features of valid ticks are the shared window features, one row per tick', () => {
  const state = new FeatureState(5000);
  const ticks = [0, 1, 2].map((i) => ({ ...base, price: 100 + i, timeMs: base.timeMs + i * 1000, sequence: i + 1 }));
  const chunk = state.prepare(ticks.map((t, i) => msg(i, JSON.stringify(tickToWire(t)))), 0, 3);
  expect(chunk.rows).toBe(3);
  expect(chunk.offsets).toEqual(['0', '1', '2']);
  const w = new TickWindow();
  ticks.forEach((t) => w.push(t));
  const expected = w.features();
  const last = chunk.input.subarray(2 * FEATURE_COUNT, 3 * FEATURE_COUNT);
  expected.forEach((v, i) => expect(last[i]).toBeCloseTo(v, 5));
});

test('poison messages are classified and kept out of the rows', () => {
  const state = new FeatureState(5000);
  const chunk = state.prepare(
    [tick(0, {}), msg(1, '{"price":'), msg(2, null), msg(3, JSON.stringify({ ...tickToWire(base), best_ask: 1, sequence: 9 })), tick(4, { sequence: 5, timeMs: base.timeMs - 6000 }), tick(5, { sequence: 6, timeMs: base.timeMs - 4000 })],
    0,
    6,
  );
  expect(chunk.deadLetters.map((d) => [d.message.offset, d.reason, d.error.name])).toEqual([
    ['1', 'malformed', 'MalformedTickError'],
    ['2', 'malformed', 'MalformedTickError'],
    ['3', 'schema', 'TickSchemaError'],
    ['4', 'out_of_order', 'OutOfOrderTickError'],
  ]);
  // 4 s behind is inside the 5 s tolerance: scored.
  expect(chunk.offsets).toEqual(['0', '5']);
});

test('a redelivered tick is scored again but not pushed into the window twice', () => {
  const state = new FeatureState(5000);
  const first = state.prepare([tick(0, { sequence: 1 }), tick(1, { sequence: 2, price: 101, timeMs: base.timeMs + 1000 })], 0, 2);
  const again = state.prepare([tick(1, { sequence: 2, price: 101, timeMs: base.timeMs + 1000 })], 0, 1);
  expect(again.rows).toBe(1);
  expect(again.duplicates).toBe(1);
  expect(Array.from(again.input)).toEqual(Array.from(first.input.subarray(FEATURE_COUNT)));
});

test('dead-letter records carry the original bytes and coordinates', () => {
  const state = new FeatureState(5000);
  const chunk = state.prepare([msg(42, 'nope')], 0, 1);
  const record = deadLetterMessage('ticks', 2, chunk.deadLetters[0]!, new Date(0));
  expect(record.value?.toString()).toBe('nope');
  expect(record.key?.toString()).toBe('BTC-USD');
  expect(record.headers).toMatchObject({
    [DLQ_HEADERS.topic]: 'ticks',
    [DLQ_HEADERS.partition]: '2',
    [DLQ_HEADERS.offset]: '42',
    [DLQ_HEADERS.reason]: 'malformed',
    [DLQ_HEADERS.errorClass]: 'MalformedTickError',
  });
  expect(String(record.headers![DLQ_HEADERS.errorMessage])).toMatch(/^not valid JSON/);
});
