import { encodePredictions } from '../../../services/consumer/predictions';
import type { ScoredChunk } from '../../../services/consumer/stream-features';
import { BASE_TICK } from './support';

const chunk = (n: number): ScoredChunk => ({
  input: new Float32Array(0),
  rows: n,
  ticks: Array.from({ length: n }, (_, i) => ({ ...BASE_TICK, sequence: i })),
  offsets: Array.from({ length: n }, (_, i) => String(1000 + i)),
  complete: Array.from({ length: n }, (_, i) => i > 0),
  deadLetters: [],
});
const model = { name: 'volatility "spike"', version: '1.0.0', variant: 'ml', decisionThreshold: 0.5 };

test('records are valid JSON carrying the tick, the probability, the label, the window flag, the model and the source', () => {
  const { messages, nonFinite } = encodePredictions(chunk(2), Float32Array.from([0.25, 0.75]), model, 'ticks', 2, Date.UTC(2026, 0, 1, 0, 0, 1));
  expect(nonFinite).toEqual([]);
  expect(messages.map((m) => String(m.key))).toEqual(['BTC-USD', 'BTC-USD']);
  expect(JSON.parse(String(messages[1]!.value))).toEqual({
    product_id: 'BTC-USD',
    sequence: 1,
    event_time: new Date(BASE_TICK.timeMs).toISOString(),
    processed_time: '2026-01-01T00:00:01.000Z',
    probability: 0.75,
    label: 1,
    window_complete: true,
    model: { name: 'volatility "spike"', version: '1.0.0', variant: 'ml' },
    source: { topic: 'ticks', partition: 2, offset: '1001' },
  });
  expect(JSON.parse(String(messages[0]!.value))).toMatchObject({ label: 0, window_complete: false });
});

test('a non-finite probability is never published', () => {
  const { messages, nonFinite } = encodePredictions(chunk(3), [0.1, Number.NaN, Number.POSITIVE_INFINITY], model, 'ticks', 0, 0);
  expect(messages).toHaveLength(1);
  expect(nonFinite).toEqual([1, 2]);
  expect(messages.every((m) => !String(m.value).includes('null'))).toBe(true);
});

test('a model name outside ASCII is encoded as UTF-8, record by record', () => {
  const { messages } = encodePredictions(chunk(2), [0.5, 0.25], { ...model, name: 'volatilité' }, 'ticks', 0, 0);
  expect(messages.map((m) => (JSON.parse(String(m.value)) as { model: { name: string }; source: { offset: string } }).model.name)).toEqual(['volatilité', 'volatilité']);
  expect(JSON.parse(String(messages[1]!.value)).source.offset).toBe('1001');
});
