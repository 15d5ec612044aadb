import { readFileSync } from 'node:fs';
import { splitCsvLine } from '../core/csv';
import { DEFAULT_PRODUCTS, type ProductSpec, REGIMES, TickSimulator } from '../core/simulator';
import { type Tick, TickSchemaError, tickFromWire } from '../core/ticks';

/** A replay file that cannot be used; the message names the file and line. */
export class ReplayFileError extends Error {
  override readonly name = 'ReplayFileError';
}

/**
 * Specs for the simulator: the built-in products keep their price level and trade size, and
 * so does any other quote of their base currency (BTC-EUR trades the sizes of BTC-USD, so its
 * features follow the training data); any other product id gets a generic one.
 */
export function productSpecs(ids: readonly string[]): ProductSpec[] {
  return ids.map((id) => {
    const base = id.split('-')[0];
    const spec = DEFAULT_PRODUCTS.find((p) => p.productId === id) ?? DEFAULT_PRODUCTS.find((p) => p.productId.split('-')[0] === base);
    return spec ? { ...spec, productId: id } : { productId: id, startPrice: 100, typicalSize: 1 };
  });
}

/**
 * Seeded ticks whose times are the wall-clock moments they are released:
 * the simulator supplies prices, spreads, sizes and regime changes, the pacer
 * supplies timing, so consumer lag measured against event time is real.
 */
export class SimulatedSource {
  private readonly sim: TickSimulator;
  private lastTime = 0;

  constructor(seed: number, products: readonly ProductSpec[], ratePerSecond: number) {
    // Mean simulator rate per product is between the two regimes' rates; scale it to the target.
    const meanRate = (REGIMES[0].tickRate + REGIMES[1].tickRate) / 2;
    const multiplier = Number.isFinite(ratePerSecond) ? Math.max(1e-6, ratePerSecond / (products.length * meanRate)) : 1000;
    this.sim = new TickSimulator({ seed, products, startMs: Date.now(), rateMultiplier: multiplier });
  }

  /** The next tick, stamped with `nowMs` (kept non-decreasing). */
  next(nowMs: number): Tick {
    this.lastTime = Math.max(this.lastTime, Math.round(nowMs));
    return { ...this.sim.next(), timeMs: this.lastTime };
  }
}

/**
 * Seeded ticks at the simulated market's own pace: each tick is due at its event time on a
 * simulator clock started at `wallStartMs`, so the trade rate follows the regimes (about 4
 * trades a second per product when calm, 12 when volatile) and the features the consumer
 * computes are distributed as in training. The tick carries that event time.
 */
export class NaturalPaceSource {
  private readonly sim: TickSimulator;
  private pending: Tick;

  constructor(seed: number, products: readonly ProductSpec[], wallStartMs: number) {
    this.sim = new TickSimulator({ seed, products, startMs: wallStartMs });
    this.pending = this.sim.next();
  }

  /** Wall-clock time at which the next tick is due. */
  dueAtMs(): number {
    return this.pending.timeMs;
  }

  next(): Tick {
    const tick = this.pending;
    this.pending = this.sim.next();
    return tick;
  }
}

const CSV_COLUMNS = ['product_id', 'price', 'best_bid', 'best_ask', 'last_size', 'time', 'sequence'] as const;

/**
 * Reads a replay file: JSON Lines (one Coinbase ticker object per line) or CSV
 * with a header naming at least the Coinbase columns (any order; extra columns
 * are ignored). Every line is validated before anything is sent.
 */
export function readReplayFile(path: string): Tick[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ReplayFileError(`cannot read replay file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  const csv = /\.csv$/i.test(path);
  const ticks: Tick[] = [];
  let columns: number[] | undefined;
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const where = `${path} line ${i + 1}`;
    try {
      if (!csv) {
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch (err) {
          throw new TickSchemaError(`not valid JSON: ${(err as Error).message}`);
        }
        ticks.push(tickFromWire(json));
        return;
      }
      const cells = splitCsvLine(line);
      if (!columns) {
        const missing = CSV_COLUMNS.filter((c) => !cells.includes(c));
        if (missing.length > 0) throw new TickSchemaError(`the CSV header must name ${CSV_COLUMNS.join(', ')}; missing ${missing.join(', ')}`);
        columns = CSV_COLUMNS.map((c) => cells.indexOf(c));
        return;
      }
      const o: Record<string, unknown> = {};
      CSV_COLUMNS.forEach((c, k) => {
        const cell = cells[columns![k]!];
        o[c] = c === 'sequence' && cell !== undefined && /^\d+$/.test(cell) ? Number(cell) : cell;
      });
      ticks.push(tickFromWire(o));
    } catch (err) {
      if (err instanceof TickSchemaError) throw new ReplayFileError(`${where}: ${err.message}`);
      throw err;
    }
  });
  if (ticks.length === 0) throw new ReplayFileError(`replay file ${path} holds no ticks`);
  return ticks;
}

/**
 * Replays recorded ticks. Times are rebased so the first tick is "now" and the
 * gaps are divided by `speed` (Infinity: as fast as possible, each tick stamped
 * with its release time), unless `keepTime` leaves the recorded times alone.
 */
export class ReplaySource {
  private i = 0;
  private readonly t0: number;
  private lastTime = -Infinity;
  private lastRecorded = -Infinity;

  constructor(
    private readonly ticks: readonly Tick[],
    private readonly speed: number,
    private readonly keepTime: boolean,
    private readonly wallStartMs: number,
  ) {
    this.t0 = ticks[0]!.timeMs;
  }

  get done(): boolean {
    return this.i >= this.ticks.length;
  }

  get remaining(): number {
    return this.ticks.length - this.i;
  }

  /** Wall-clock time at which the next tick is due (recorded order; never earlier than the previous one). */
  dueAtMs(): number {
    if (!Number.isFinite(this.speed)) return -Infinity;
    const t = Math.max(this.ticks[this.i]!.timeMs, this.lastRecorded);
    return this.wallStartMs + (t - this.t0) / this.speed;
  }

  next(nowMs: number): Tick {
    const tick = this.ticks[this.i++]!;
    this.lastRecorded = Math.max(this.lastRecorded, tick.timeMs);
    if (this.keepTime) return tick;
    const rebased = Number.isFinite(this.speed) ? this.wallStartMs + (this.lastRecorded - this.t0) / this.speed : nowMs;
    this.lastTime = Math.max(this.lastTime, Math.round(rebased));
    return { ...tick, timeMs: this.lastTime };
  }
}

export type DriftField = 'price' | 'spread' | 'size' | 'volatility';
export interface DriftRule {
  readonly field: DriftField;
  readonly op: 'scale' | 'shift';
  readonly value: number;
}

/** Parses `field=op:value[,field=op:value…]`, e.g. `volatility=scale:3,size=scale:5,price=shift:-50`. */
export function parseDriftSpec(spec: string): DriftRule[] | string {
  const rules: DriftRule[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(price|spread|size|volatility)=(scale|shift):(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i.exec(part);
    if (!m) return `"${part}" is not field=op:value with field price, spread, size or volatility and op scale or shift`;
    const field = m[1]!.toLowerCase() as DriftField;
    const op = m[2]!.toLowerCase() as DriftRule['op'];
    const value = Number(m[3]);
    if (op === 'scale' && !(value > 0)) return `"${part}": a scale factor must be > 0`;
    if (field === 'volatility' && op === 'shift') return `"${part}": volatility can only be scaled`;
    rules.push({ field, op, value });
  }
  return rules.length > 0 ? rules : 'the drift spec is empty';
}

/**
 * Applies drift rules to ticks. `volatility=scale:k` multiplies each product's
 * log-price moves since the drift started by k; the other fields are changed
 * tick by tick. Prices stay positive and the ask never drops below the bid.
 */
export class DriftInjector {
  private readonly anchors = new Map<string, { raw: number; out: number }>();

  constructor(private readonly rules: readonly DriftRule[]) {}

  apply(t: Tick): Tick {
    let price = t.price;
    // Bid and ask are kept as distances from the trade price, which may sit outside the spread.
    let below = t.price - t.bestBid;
    let above = t.bestAsk - t.price;
    let size = t.lastSize;
    for (const r of this.rules) {
      const f = (x: number): number => (r.op === 'scale' ? x * r.value : x + r.value);
      if (r.field === 'price') {
        if (r.op === 'scale') {
          below *= r.value;
          above *= r.value;
        }
        price = f(price);
      } else if (r.field === 'spread') {
        const s = below + above;
        const s2 = Math.max(0, f(s));
        if (s > 0) {
          below *= s2 / s;
          above *= s2 / s;
        } else {
          below = above = s2 / 2;
        }
      } else if (r.field === 'size') {
        size = Math.max(0, f(size));
      } else {
        const a = this.anchors.get(t.productId);
        if (!a) {
          this.anchors.set(t.productId, { raw: price, out: price });
        } else {
          const next = a.out * Math.exp(Math.log(price / a.raw) * r.value);
          below *= next / price;
          above *= next / price;
          price = next;
        }
      }
    }
    price = Math.max(0.01, price);
    const bid = Math.max(1e-6, price - below);
    const ask = Math.max(bid, price + above);
    return { ...t, price: round(price), bestBid: round(bid), bestAsk: Math.max(round(bid), round(ask)), lastSize: Math.round(size * 1e8) / 1e8 };
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
