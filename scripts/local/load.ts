/**
 * A small steady load on the local API so every API panel has data: about `--rate` POST
 * /predict requests per second, each with the feature row of one tick of a simulated market,
 * plus an occasional malformed body (a client error, as real traffic has). Runs until stopped.
 *
 * The market runs on the wall clock at its own pace (the producer's default, the pace of the
 * training data) and each of its ticks is sent with probability rate / (its tick rate): the
 * requests sample ticks the way training sampled them, so the API's drift windows hold the
 * training distribution and its drift gauges stay quiet (docs/drift.md). Requests come a bit
 * faster in volatile regimes, as a market's callers would.
 *
 *   node --import tsx scripts/local/load.ts [--url http://127.0.0.1:8080] [--rate 4]
 */
import { parseArgs } from 'node:util';
import { FEATURE_COUNT, FEATURE_NAMES, TickWindow, toFeatureRow, type FeatureRow } from '../../services/core/features';
import { Rng } from '../../services/core/rng';
import { DEFAULT_PRODUCTS, TickSimulator, naturalTickRate } from '../../services/core/simulator';
import type { Tick } from '../../services/core/ticks';
import { productSpecs } from '../../services/producer/sources';

export interface LoadGenerator {
  stop(): void;
  /** Responses by status code so far. */
  readonly statuses: ReadonlyMap<number, number>;
}

/**
 * The rows to send: `rowsUntil(t)` returns the rows of the ticks the market of `products` made
 * up to `t` (since the previous call) that were picked, about `perSecond` a second. The market starts
 * a minute before `startMs`, so every product's window spans its lookback from the first row.
 */
export function marketRows(seed: number, perSecond: number, startMs: number, products: readonly string[] = DEFAULT_PRODUCTS.map((p) => p.productId)): { rowsUntil(nowMs: number): FeatureRow[] } {
  const sim = new TickSimulator({ seed, startMs: startMs - 60_000, products: productSpecs(products) });
  const rng = new Rng(seed ^ 0x5bd1e995);
  const share = Math.min(1, perSecond / naturalTickRate(products.length));
  const windows = new Map<string, TickWindow>();
  const scratch = new Float64Array(FEATURE_COUNT);
  let pending: Tick = sim.next();
  return {
    rowsUntil(nowMs) {
      const rows: FeatureRow[] = [];
      for (; pending.timeMs <= nowMs; pending = sim.next()) {
        let w = windows.get(pending.productId);
        if (!w) windows.set(pending.productId, (w = new TickWindow()));
        w.push(pending);
        if (pending.timeMs >= startMs && w.complete && rng.next() < share) rows.push(toFeatureRow(w.features(scratch)));
      }
      return rows;
    },
  };
}

/** `products`: the simulated market's product ids (default the producer's three). */
export function startLoad(url: string, perSecond: number, products?: readonly string[]): LoadGenerator {
  const start = Date.now();
  const market = marketRows(start % 2 ** 31, perSecond, start, products);
  market.rowsUntil(start);
  const statuses = new Map<number, number>();
  let i = 0;
  const send = (row: FeatureRow) => {
    const n = i++;
    // Every 50th request is a client error: the error panels show a realistic 4xx trickle.
    const body = n % 50 === 49 ? '{"features": {' : JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((f) => [f, row[f]])) });
    fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) }).then(
      async (r) => {
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      },
      () => statuses.set(0, (statuses.get(0) ?? 0) + 1),
    );
  };
  const timer = setInterval(() => market.rowsUntil(Date.now()).forEach(send), 50);
  return { stop: () => clearInterval(timer), statuses };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://127.0.0.1:8080' }, rate: { type: 'string', default: '4' } } });
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 1000)) {
    process.stderr.write(`load: --rate must be a number of requests per second in (0, 1000], got ${values.rate}\n`);
    process.exit(2);
  }
  const load = startLoad(values.url!, rate);
  setInterval(() => process.stdout.write(`${new Date().toISOString()} responses by status: ${JSON.stringify(Object.fromEntries(load.statuses))}\n`), 60_000).unref();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => (load.stop(), process.exit(0)));
}
