import { TickSimulator } from '../../../services/core/simulator';

describe('TickSimulator', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const take = (seed: number) => {
      const s = new TickSimulator({ seed });
      return Array.from({ length: 500 }, () => s.next());
    };
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
  });

  it('emits all products in event-time order with valid books and increasing sequences per product', () => {
    const s = new TickSimulator({ seed: 3 });
    let lastTime = -Infinity;
    const lastSeq = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const t = s.next();
      expect(t.timeMs).toBeGreaterThanOrEqual(lastTime);
      expect(t.bestAsk).toBeGreaterThan(t.bestBid);
      expect(t.sequence).toBeGreaterThan(lastSeq.get(t.productId) ?? -1);
      lastTime = t.timeMs;
      lastSeq.set(t.productId, t.sequence);
    }
    expect([...lastSeq.keys()].sort()).toEqual(['BTC-USD', 'ETH-USD', 'SOL-USD']);
  });

  it('switches between calm and volatile regimes, with faster trading when volatile', () => {
    const s = new TickSimulator({ seed: 11, products: [{ productId: 'BTC-USD', startPrice: 100, typicalSize: 1 }] });
    const counts = { calm: 0, volatile: 0 };
    let prev = s.next();
    const gaps = { calm: 0, volatile: 0 };
    for (let i = 0; i < 50_000; i++) {
      const t = s.next();
      const regime = s.regimeOf('BTC-USD')!;
      counts[regime]++;
      gaps[regime] += t.timeMs - prev.timeMs;
      prev = t;
    }
    expect(counts.calm).toBeGreaterThan(0);
    expect(counts.volatile).toBeGreaterThan(0);
    expect(gaps.volatile / counts.volatile).toBeLessThan(gaps.calm / counts.calm);
  });

  it('scales the tick rate with rateMultiplier', () => {
    const span = (m: number) => {
      const s = new TickSimulator({ seed: 5, rateMultiplier: m });
      const first = s.next().timeMs;
      let last = first;
      for (let i = 0; i < 5000; i++) last = s.next().timeMs;
      return last - first;
    };
    expect(span(10)).toBeLessThan(span(1) / 5);
  });
});
