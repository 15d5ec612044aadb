/**
 * A small steady load on the local API so every API panel has data: `--rate` POST /predict
 * requests per second, each with the features of the newest tick of a simulated market (the
 * simulator and feature function training used, so the inputs are in distribution), plus an
 * occasional malformed body (a client error, as real traffic has). Runs until stopped.
 *
 *   node --import tsx scripts/local/load.ts [--url http://127.0.0.1:8080] [--rate 4]
 */
import { parseArgs } from 'node:util';
import { FEATURE_NAMES, TickWindow, toFeatureRow, type FeatureRow } from '../../services/core/features';
import { TickSimulator } from '../../services/core/simulator';

export interface LoadGenerator {
  stop(): void;
  /** Responses by status code so far. */
  readonly statuses: ReadonlyMap<number, number>;
}

export function startLoad(url: string, perSecond: number): LoadGenerator {
  const sim = new TickSimulator({ seed: Date.now() % 2 ** 31 });
  const windows = new Map<string, TickWindow>();
  let simulatedMs = 0;
  const nextRow = (): FeatureRow => {
    const tick = sim.next();
    simulatedMs = tick.timeMs;
    let w = windows.get(tick.productId);
    if (!w) windows.set(tick.productId, (w = new TickWindow()));
    w.push(tick);
    return toFeatureRow(w.features());
  };
  // A minute of simulated market first, so the windows are full.
  nextRow();
  for (const end = simulatedMs + 60_000; simulatedMs < end; ) nextRow();
  const statuses = new Map<number, number>();
  let i = 0;
  const send = () => {
    const n = i++;
    const row = nextRow();
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
  const timer = setInterval(send, 1000 / perSecond);
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
