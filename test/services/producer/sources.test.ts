import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FEATURE_NAMES, TickWindow } from '../../../services/core/features';
import { naturalTickRate } from '../../../services/core/simulator';
import type { Tick } from '../../../services/core/ticks';
import { TokenBucket } from '../../../services/producer/pacer';
import { DriftInjector, NaturalPaceSource, ReplayFileError, ReplaySource, SimulatedSource, parseDriftSpec, productSpecs, readReplayFile } from '../../../services/producer/sources';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'volwatch-replay-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const coinbaseLine = (seq: number, time: string, price = '64000.01') =>
  JSON.stringify({ type: 'ticker', product_id: 'BTC-USD', price, best_bid: '64000.00', best_ask: '64000.02', last_size: '0.0012', time, sequence: seq, trade_id: 1 });

test('reads Coinbase ticker JSON Lines, string numbers and extra fields included', () => {
  const ticks = readReplayFile(file('a.jsonl', `${coinbaseLine(1, '2026-01-01T00:00:00.000Z')}\n\n${coinbaseLine(2, '2026-01-01T00:00:01.500Z')}\n`));
  expect(ticks).toEqual([
    { productId: 'BTC-USD', price: 64000.01, bestBid: 64000, bestAsk: 64000.02, lastSize: 0.0012, timeMs: Date.UTC(2026, 0, 1), sequence: 1 },
    expect.objectContaining({ sequence: 2, timeMs: Date.UTC(2026, 0, 1) + 1500 }),
  ]);
});

test('reads CSV with the Coinbase columns in any order', () => {
  const ticks = readReplayFile(file('a.csv', 'time,product_id,sequence,price,best_bid,best_ask,last_size,side\n2026-01-01T00:00:00Z,ETH-USD,7,3200.5,3200.4,3200.6,0.5,"buy"\n'));
  expect(ticks).toEqual([{ productId: 'ETH-USD', price: 3200.5, bestBid: 3200.4, bestAsk: 3200.6, lastSize: 0.5, timeMs: Date.UTC(2026, 0, 1), sequence: 7 }]);
});

test('a bad replay line is reported with file and line number', () => {
  const p = file('bad.jsonl', `${coinbaseLine(1, '2026-01-01T00:00:00Z')}\n${coinbaseLine(2, 'yesterday')}\n`);
  expect(() => readReplayFile(p)).toThrow(ReplayFileError);
  expect(() => readReplayFile(p)).toThrow(`${p} line 2: time must be an ISO-8601 (RFC 3339) timestamp like 2026-01-01T00:00:00.000Z, got "yesterday"`);
  expect(() => readReplayFile(file('h.csv', 'product_id,price\nBTC-USD,1\n'))).toThrow('missing best_bid, best_ask, last_size, time, sequence');
  expect(() => readReplayFile(path.join(dir, 'absent.jsonl'))).toThrow('cannot read replay file');
  expect(() => readReplayFile(file('empty.jsonl', '\n'))).toThrow('holds no ticks');
});

test('replay rebases times to now and divides the gaps by the speed', () => {
  const ticks = readReplayFile(file('r.jsonl', [coinbaseLine(1, '2026-01-01T00:00:00Z'), coinbaseLine(2, '2026-01-01T00:00:10Z')].join('\n')));
  const wall = 1_000_000;
  const src = new ReplaySource(ticks, 10, false, wall);
  expect(src.dueAtMs()).toBe(wall);
  expect(src.next(wall).timeMs).toBe(wall);
  expect(src.dueAtMs()).toBe(wall + 1000);
  expect(src.next(wall + 1000).timeMs).toBe(wall + 1000);
  expect(src.done).toBe(true);
  const kept = new ReplaySource(ticks, Infinity, true, wall);
  expect(kept.dueAtMs()).toBe(-Infinity);
  expect(kept.next(wall).timeMs).toBe(Date.UTC(2026, 0, 1));
});

test('other quotes of a built-in base trade its sizes (their features follow the training data); unknown bases get a generic spec', () => {
  expect(productSpecs(['BTC-EUR', 'ETH-USDT', 'SOL-USD', 'DOGE-USD'])).toEqual([
    { productId: 'BTC-EUR', startPrice: 64_000, typicalSize: 0.02 },
    { productId: 'ETH-USDT', startPrice: 3_200, typicalSize: 0.4 },
    { productId: 'SOL-USD', startPrice: 150, typicalSize: 8 },
    { productId: 'DOGE-USD', startPrice: 100, typicalSize: 1 },
  ]);
});

test('simulated ticks are stamped with their release time and keep per-product sequence order', () => {
  const src = new SimulatedSource(1, productSpecs(['BTC-USD', 'DOGE-USD']), 2000);
  const out: Tick[] = [];
  for (let i = 0; i < 500; i++) out.push(src.next(5_000 + i));
  expect(out.map((t) => t.timeMs)).toEqual(out.map((_, i) => 5_000 + i));
  expect(new Set(out.map((t) => t.productId))).toEqual(new Set(['BTC-USD', 'DOGE-USD']));
  for (const p of ['BTC-USD', 'DOGE-USD']) {
    const seqs = out.filter((t) => t.productId === p).map((t) => t.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }
});

test('at the natural pace ticks fall due at their event times: the regimes set the trade rate, ~16.8 a second for three products over hours', () => {
  const start = 1_000_000;
  const src = new NaturalPaceSource(4, productSpecs(['BTC-USD', 'ETH-USD', 'SOL-USD']), start);
  const hours = 3;
  let last = start;
  let n = 0;
  const perMinute = new Map<number, number>();
  while (src.dueAtMs() < start + hours * 3_600_000) {
    const due = src.dueAtMs();
    const t = src.next();
    expect(t.timeMs).toBe(due);
    expect(t.timeMs).toBeGreaterThanOrEqual(last);
    last = t.timeMs;
    n++;
    const minute = Math.floor((t.timeMs - start) / 60_000);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1 / 60);
  }
  expect(naturalTickRate(3)).toBeCloseTo(16.8, 6);
  expect(n / (hours * 3600)).toBeGreaterThan(0.85 * naturalTickRate(3));
  expect(n / (hours * 3600)).toBeLessThan(1.15 * naturalTickRate(3));
  // Unlike a fixed --rate, the pace follows the regimes: calm minutes near 12/s, volatile ones far above.
  const rates = [...perMinute.values()].sort((a, b) => a - b);
  expect(rates[Math.floor(rates.length * 0.05)]!).toBeLessThan(14);
  expect(rates[Math.floor(rates.length * 0.95)]!).toBeGreaterThan(20);
});

test('volatility drift multiplies the realised volatility the consumer computes', () => {
  const rules = parseDriftSpec('volatility=scale:3');
  if (typeof rules === 'string') throw new Error(rules);
  const src = new SimulatedSource(3, productSpecs(['BTC-USD']), 10);
  const drift = new DriftInjector(rules);
  const plain = new TickWindow();
  const drifted = new TickWindow();
  for (let i = 0; i < 600; i++) {
    const t = src.next(i * 100);
    plain.push(t);
    drifted.push(drift.apply(t));
  }
  const rv = FEATURE_NAMES.indexOf('rv_60s');
  const ratio = drifted.features()[rv]! / plain.features()[rv]!;
  expect(ratio).toBeGreaterThan(2.5);
  expect(ratio).toBeLessThan(3.5);
});

test('price, spread and size drift keep a valid tick', () => {
  const rules = parseDriftSpec('price=scale:2,spread=scale:4,size=shift:1');
  if (typeof rules === 'string') throw new Error(rules);
  const t: Tick = { productId: 'BTC-USD', price: 100, bestBid: 99.9, bestAsk: 100.1, lastSize: 0.5, timeMs: 0, sequence: 1 };
  const d = new DriftInjector(rules).apply(t);
  expect(d.price).toBeCloseTo(200);
  expect(d.bestAsk - d.bestBid).toBeCloseTo(1.6);
  expect(d.lastSize).toBeCloseTo(1.5);
  expect(new DriftInjector([{ field: 'price', op: 'shift', value: -1000 }]).apply(t).price).toBeGreaterThan(0);
});

test('the token bucket releases at its rate and caps a burst after a stall', () => {
  let now = 0;
  const bucket = new TokenBucket(1000, 50, () => now);
  expect(bucket.take(100)).toBe(0);
  now = 20;
  expect(bucket.take(100)).toBe(20);
  expect(bucket.waitMs()).toBeCloseTo(1);
  now = 10_000; // a long stall earns one bucket, not ten seconds of ticks
  expect(bucket.take(1000)).toBe(50);
});
