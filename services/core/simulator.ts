import { Rng } from './rng';
import type { Tick } from './ticks';

export interface ProductSpec {
  readonly productId: string;
  readonly startPrice: number;
  /** Typical trade size, in base units. */
  readonly typicalSize: number;
}

export const DEFAULT_PRODUCTS: readonly ProductSpec[] = [
  { productId: 'BTC-USD', startPrice: 64_000, typicalSize: 0.02 },
  { productId: 'ETH-USD', startPrice: 3_200, typicalSize: 0.4 },
  { productId: 'SOL-USD', startPrice: 150, typicalSize: 8 },
];

export interface Regime {
  readonly name: 'calm' | 'volatile';
  /** Log-price diffusion per sqrt(second). */
  readonly sigmaPerSqrtSec: number;
  /** Mean trades per second. */
  readonly tickRate: number;
  /** Mean time spent in the regime before switching, seconds. */
  readonly meanDurationSec: number;
  /** Half-spread baseline in basis points. */
  readonly spreadBps: number;
}

export const REGIMES: readonly [Regime, Regime] = [
  { name: 'calm', sigmaPerSqrtSec: 0.00012, tickRate: 4, meanDurationSec: 240, spreadBps: 0.8 },
  { name: 'volatile', sigmaPerSqrtSec: 0.0006, tickRate: 12, meanDurationSec: 60, spreadBps: 3 },
];

/** Mean trades per second of the simulated market (regimes weighted by their time), over `products` products. */
export function naturalTickRate(products: number = DEFAULT_PRODUCTS.length): number {
  const [calm, volatile] = REGIMES;
  const perProduct = (calm.tickRate * calm.meanDurationSec + volatile.tickRate * volatile.meanDurationSec) / (calm.meanDurationSec + volatile.meanDurationSec);
  return perProduct * products;
}

export interface SimulatorOptions {
  readonly seed: number;
  readonly products?: readonly ProductSpec[];
  readonly startMs?: number;
  /** Multiplies every tick rate (the producer uses it to hit a target rate). */
  readonly rateMultiplier?: number;
}

interface ProductState {
  spec: ProductSpec;
  logPrice: number;
  regime: 0 | 1;
  regimeEndsMs: number;
  nextTickMs: number;
  lastTickMs: number;
  sequence: number;
}

/**
 * Seeded market simulator: per product, Poisson trade arrivals and a log-price
 * random walk whose volatility, trade rate and spread follow a two-state Markov
 * regime (calm / volatile). Ticks of all products come out merged in event-time order.
 */
export class TickSimulator {
  private readonly rng: Rng;
  private readonly states: ProductState[];
  private readonly rateMultiplier: number;

  constructor(opts: SimulatorOptions) {
    this.rng = new Rng(opts.seed);
    this.rateMultiplier = opts.rateMultiplier ?? 1;
    if (!(this.rateMultiplier > 0)) throw new RangeError('rateMultiplier must be > 0');
    const startMs = opts.startMs ?? Date.UTC(2026, 0, 1);
    this.states = (opts.products ?? DEFAULT_PRODUCTS).map((spec, i) => {
      const regime: 0 | 1 = this.rng.next() < 0.2 ? 1 : 0;
      return {
        spec,
        logPrice: Math.log(spec.startPrice),
        regime,
        regimeEndsMs: startMs + this.rng.exponential(1 / REGIMES[regime].meanDurationSec) * 1000,
        nextTickMs: startMs + i,
        lastTickMs: startMs,
        sequence: 1_000_000 * (i + 1),
      };
    });
  }

  /** Current regime of a product (for tests and demos). */
  regimeOf(productId: string): Regime['name'] | undefined {
    const s = this.states.find((x) => x.spec.productId === productId);
    return s ? REGIMES[s.regime].name : undefined;
  }

  next(): Tick {
    let s = this.states[0]!;
    for (const c of this.states) if (c.nextTickMs < s.nextTickMs) s = c;
    const now = s.nextTickMs;
    while (now >= s.regimeEndsMs) {
      s.regime = s.regime === 0 ? 1 : 0;
      s.regimeEndsMs += this.rng.exponential(1 / REGIMES[s.regime].meanDurationSec) * 1000;
    }
    const reg = REGIMES[s.regime];
    const dtSec = Math.max(1e-3, (now - s.lastTickMs) / 1000);
    s.logPrice += reg.sigmaPerSqrtSec * Math.sqrt(dtSec) * this.rng.normal();
    const price = round(Math.exp(s.logPrice), 2);
    const half = Math.max(0.01, (price * reg.spreadBps * (0.5 + this.rng.next())) / 1e4);
    const bestBid = round(price - half, 2);
    const bestAsk = Math.max(round(price + half, 2), bestBid + 0.01);
    const sizeScale = reg.name === 'volatile' ? 2 : 1;
    const lastSize = round(this.rng.logNormal(Math.log(s.spec.typicalSize * sizeScale), 0.8), 8);
    s.lastTickMs = now;
    s.sequence += 1;
    const tick: Tick = {
      productId: s.spec.productId,
      price,
      bestBid,
      bestAsk: round(bestAsk, 2),
      lastSize,
      timeMs: Math.round(now),
      sequence: s.sequence,
    };
    s.nextTickMs = now + this.rng.exponential(reg.tickRate * this.rateMultiplier) * 1000;
    return tick;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
