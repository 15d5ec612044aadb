import { FEATURE_COUNT, FEATURE_NAMES, TickWindow, fromFeatureRow, toFeatureRow } from '../../../services/core/features';
import { TickSimulator } from '../../../services/core/simulator';
import type { Tick } from '../../../services/core/ticks';

/** The definitions, computed the slow and obvious way over the full history. */
function naiveFeatures(history: Tick[]): number[] {
  const last = history[history.length - 1]!;
  const now = last.timeMs;
  const refIndex = (lookback: number): number => {
    let idx = 0;
    for (let i = 0; i < history.length; i++) if (history[i]!.timeMs <= now - lookback) idx = i;
    return idx;
  };
  const ret = (lookback: number) => Math.log(last.price) - Math.log(history[refIndex(lookback)]!.price);
  const rv = (lookback: number) => {
    let s = 0;
    for (let i = refIndex(lookback) + 1; i < history.length; i++) s += Math.log(history[i]!.price / history[i - 1]!.price) ** 2;
    return Math.sqrt(s);
  };
  const recent = history.filter((t) => t.timeMs > now - 30_000);
  const mid = (last.bestBid + last.bestAsk) / 2;
  return [
    ret(1_000), ret(5_000), ret(30_000), ret(60_000), rv(30_000), rv(60_000),
    ((last.bestAsk - last.bestBid) / mid) * 1e4,
    recent.length / 30,
    Math.log1p(recent.reduce((a, t) => a + t.lastSize, 0)),
  ];
}

describe('TickWindow', () => {
  it('matches the naive feature definitions over a long simulated stream', () => {
    const sim = new TickSimulator({ seed: 7 });
    const window = new TickWindow(4); // tiny initial capacity exercises growth and compaction
    const history: Tick[] = [];
    const out = new Float64Array(FEATURE_COUNT);
    for (let i = 0; i < 6000; i++) {
      const t = sim.next();
      if (t.productId !== 'ETH-USD') continue;
      history.push(t);
      window.push(t);
      if (i % 97 === 0) {
        const expected = naiveFeatures(history);
        window.features(out);
        expected.forEach((v, j) => expect(out[j]).toBeCloseTo(v, 9));
      }
    }
    expect(history.length).toBeGreaterThan(1000);
  });

  it('yields zeros for an empty window and for a single tick except spread and intensity', () => {
    const w = new TickWindow();
    expect(Array.from(w.features())).toEqual(new Array(FEATURE_COUNT).fill(0));
    w.push({ productId: 'BTC-USD', price: 100, bestBid: 99.99, bestAsk: 100.01, lastSize: 1, timeMs: 1_000_000, sequence: 1 });
    const f = toFeatureRow(w.features());
    expect(f.ret_1s).toBe(0);
    expect(f.rv_60s).toBe(0);
    expect(f.spread_bps).toBeCloseTo(2, 6);
    expect(f.trade_intensity_30s).toBeCloseTo(1 / 30, 12);
    expect(f.log_volume_30s).toBeCloseTo(Math.log(2), 12);
  });

  it('clamps a tick older than the newest to the newest time instead of rewinding', () => {
    const w = new TickWindow();
    const base = { productId: 'BTC-USD', bestBid: 99, bestAsk: 101, lastSize: 1, sequence: 1 };
    w.push({ ...base, price: 100, timeMs: 10_000 });
    w.push({ ...base, price: 101, timeMs: 9_000 });
    expect(w.lastTimeMs).toBe(10_000);
    expect(w.size).toBe(2);
  });

  it('keeps only the last minute of ticks (plus one reference tick)', () => {
    const w = new TickWindow();
    for (let s = 0; s < 600; s++) w.push({ productId: 'BTC-USD', price: 100 + (s % 3), bestBid: 99, bestAsk: 101, lastSize: 1, timeMs: s * 1000, sequence: s });
    expect(w.size).toBe(61);
  });

  it('is complete once it spans the whole 60 s lookback, as training counts warm rows', () => {
    const w = new TickWindow();
    const at = (ms: number) => ({ productId: 'BTC-USD', price: 100, bestBid: 99, bestAsk: 101, lastSize: 1, timeMs: 1_000_000 + ms, sequence: ms });
    expect(w.complete).toBe(false);
    w.push(at(0));
    w.push(at(59_999));
    expect(w.complete).toBe(false);
    w.push(at(60_000));
    expect(w.complete).toBe(true);
    w.push(at(200_000));
    expect(w.complete).toBe(true);
  });

  it('keeps every feature finite and exact after a trade at the edge of the domain', () => {
    const base = { productId: 'BTC-USD', bestBid: 99, bestAsk: 101, sequence: 1 };
    const w = new TickWindow(2);
    const plain = new TickWindow(2);
    w.push({ ...base, price: 100, lastSize: 1e12, timeMs: 0 });
    for (let i = 1; i <= 5000; i++) {
      const t = { ...base, price: 100 + (i % 7), lastSize: 0.02, timeMs: i * 100 };
      w.push(t);
      if (i > 400) plain.push(t);
    }
    const got = Array.from(w.features());
    got.forEach((v) => expect(Number.isFinite(v) && Math.abs(v) < 3.4e38).toBe(true));
    // 40 s after the huge trade left the window, volume is that of the small trades alone, to the last digits.
    expect(got[8]).toBeCloseTo(Array.from(plain.features())[8]!, 9);
  });

  it('converts between named rows and model-order vectors', () => {
    const v = Float64Array.from(FEATURE_NAMES, (_, i) => i + 0.5);
    expect(Array.from(fromFeatureRow(toFeatureRow(v)))).toEqual(Array.from(v));
  });
});
