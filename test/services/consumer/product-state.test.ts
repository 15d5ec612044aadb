import { ProductStates } from '../../../services/consumer/product-state';

test('at capacity the least recently updated product is dropped first', () => {
  const evicted: [string, number][] = [];
  const s = new ProductStates({ maxProducts: 3, idleEvictMs: 60_000, onEvict: (r, n) => evicted.push([r, n]) });
  const a = s.get(0, 'A-USD', 0);
  s.get(0, 'B-USD', 1);
  s.get(1, 'C-USD', 2);
  expect(s.get(0, 'A-USD', 3)).toBe(a); // A is now the most recent
  s.get(1, 'D-USD', 4); // over capacity: B goes
  expect(s.size).toBe(3);
  expect(evicted).toEqual([['capacity', 1]]);
  expect(s.get(0, 'A-USD', 5)).toBe(a);
  expect(s.get(0, 'B-USD', 6)).not.toBe(undefined);
  expect(evicted).toEqual([['capacity', 1], ['capacity', 1]]); // C went to make room for B again
});

test('idle products are dropped, active ones kept', () => {
  const evicted: [string, number][] = [];
  const s = new ProductStates({ maxProducts: 100, idleEvictMs: 60_000, onEvict: (r, n) => evicted.push([r, n]) });
  for (let i = 0; i < 10; i++) s.get(0, `P${i}-USD`, i * 1000);
  s.get(0, 'P0-USD', 100_000);
  expect(s.evictIdle(100_000)).toBe(9);
  expect(s.size).toBe(1);
  expect(evicted).toEqual([['idle', 9]]);
});

test('dropping a partition forgets its products only', () => {
  const s = new ProductStates({ maxProducts: 100, idleEvictMs: 60_000 });
  const kept = s.get(1, 'B-USD', 0);
  s.get(0, 'A-USD', 0);
  s.get(0, 'C-USD', 0);
  expect(s.dropPartition(0)).toBe(2);
  expect(s.size).toBe(1);
  expect(s.get(1, 'B-USD', 1)).toBe(kept);
  expect(s.get(0, 'A-USD', 1).window.size).toBe(0);
});

test('a stream of new products never holds more than the maximum', () => {
  const s = new ProductStates({ maxProducts: 500, idleEvictMs: 3_600_000 });
  for (let i = 0; i < 20_000; i++) s.get(i % 3, `X${i}-USD`, i).window.push({ productId: `X${i}-USD`, price: 1, bestBid: 1, bestAsk: 1, lastSize: 1, timeMs: i, sequence: i });
  expect(s.size).toBe(500);
});
