import { UsageError, parseFlags } from '../core/cli-flags';
import { ConfigError, EnvReader } from '../core/config';
import { parseBrokers, readKafkaClientConfig } from '../core/kafka';
import type { ProducerOptions } from './producer';
import { parseDriftSpec } from './sources';

export { UsageError };

export const PRODUCER_USAGE = `Usage: npm run produce -- [options]

Simulated ticks (default):
  --rate <natural|n|max> natural (default): when the simulated market trades, about 17
                         ticks a second for 3 products, more in volatile regimes (the
                         pace the model was trained on); n: exactly n ticks per second
                         over all products (load tests: the trade-intensity and volume
                         features then follow n, not the market); max: unpaced
  --duration <seconds>   stop after this long (default: until Ctrl-C, or --count)
  --count <n>            stop after this many ticks
  --products <list>      comma-separated product ids (default BTC-USD,ETH-USD,SOL-USD)
  --seed <n>             simulator seed (default 1)
Replay instead:
  --replay <file>        .jsonl (one Coinbase ticker object per line) or .csv with a header
  --speed <n|max>        1 = recorded speed, 10 = ten times faster, max = no waiting (default 1)
  --keep-time            keep the recorded times (default: rebase them to now)
Drift injection:
  --drift <spec>         field=op:value[,…]; field price|spread|size|volatility, op scale|shift
  --drift-after <s>      apply the drift from this many seconds after the start (default 0)
Kafka:
  --topic <name>         default $TICKS_TOPIC or ticks
  --brokers <list>       default $KAFKA_BROKERS or 127.0.0.1:9092
  --partitions <n>       partitions if the topic is created (default 3)
  --batch-size <n>       most ticks per produce request (default 1000)
`;

const FLAG_SPEC = {
  values: ['rate', 'duration', 'count', 'products', 'seed', 'replay', 'speed', 'drift', 'drift-after', 'topic', 'brokers', 'partitions', 'batch-size'],
  switches: ['keep-time'],
} as const;
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;
const PRODUCT_RE = /^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/;

function positive(name: string, v: string, opts: { integer?: boolean; allowMax?: boolean; allowNatural?: boolean } = {}): number {
  if (opts.allowMax && v === 'max') return Infinity;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (opts.integer && !Number.isInteger(n))) {
    const words = [...(opts.allowNatural ? ['"natural"'] : []), ...(opts.allowMax ? ['"max"'] : [])];
    throw new UsageError(`--${name} must be a positive ${opts.integer ? 'integer' : 'number'}${words.length > 0 ? ` or ${words.join(' or ')}` : ''}, got "${v}"`);
  }
  return n;
}

/** Parses argv (without node and script) into producer options, or 'help'. */
export function parseProducerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ProducerOptions | 'help' {
  const flags = parseFlags(argv, FLAG_SPEC);
  if (flags === 'help') return 'help';
  const values = new Map<string, string>(Object.entries(flags.values) as [string, string][]);
  if (flags.switches['keep-time']) values.set('keep-time', 'true');

  const replay = values.get('replay');
  const simOnly = ['rate', 'duration', 'count', 'products', 'seed'].filter((f) => values.has(f));
  const replayOnly = ['speed', 'keep-time'].filter((f) => values.has(f));
  if (replay !== undefined && simOnly.length > 0) throw new UsageError(`--replay cannot be combined with ${simOnly.map((f) => `--${f}`).join(', ')}`);
  if (replay === undefined && replayOnly.length > 0) throw new UsageError(`${replayOnly.map((f) => `--${f}`).join(', ')} only apply with --replay`);

  const topic = values.get('topic') ?? env.TICKS_TOPIC?.trim() ?? 'ticks';
  if (!TOPIC_RE.test(topic)) throw new UsageError(`--topic must be a Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters), got "${topic}"`);
  const rawBrokers = values.get('brokers') ?? (env.KAFKA_BROKERS?.trim() || '127.0.0.1:9092');
  const brokers = parseBrokers(rawBrokers);
  if (!brokers) throw new UsageError(`--brokers / KAFKA_BROKERS must be a comma-separated list of host:port, got "${rawBrokers}"`);
  const sasl = saslFromEnv(env);
  const partitions = values.has('partitions') ? positive('partitions', values.get('partitions')!, { integer: true }) : 3;
  const batchSize = values.has('batch-size') ? positive('batch-size', values.get('batch-size')!, { integer: true }) : 1000;

  let drift: ProducerOptions['drift'];
  if (values.has('drift')) {
    const rules = parseDriftSpec(values.get('drift')!);
    if (typeof rules === 'string') throw new UsageError(`--drift: ${rules}`);
    const after = values.get('drift-after') ?? '0';
    const afterSec = Number(after);
    if (after.trim() === '' || !Number.isFinite(afterSec) || afterSec < 0) throw new UsageError(`--drift-after must be a number of seconds >= 0, got "${after}"`);
    drift = { afterSec, rules };
  } else if (values.has('drift-after')) {
    throw new UsageError('--drift-after needs --drift');
  }

  if (replay !== undefined) {
    if (!/\.(jsonl|ndjson|csv)$/i.test(replay)) throw new UsageError(`--replay expects a .jsonl, .ndjson or .csv file, got "${replay}"`);
    const speed = values.has('speed') ? positive('speed', values.get('speed')!, { allowMax: true }) : 1;
    return { brokers, sasl, topic, partitions, batchSize, drift, source: { kind: 'replay', file: replay, speed, keepTime: values.has('keep-time') } };
  }

  const rawRate = values.get('rate') ?? 'natural';
  const rate = rawRate === 'natural' ? 'natural' : positive('rate', rawRate, { allowMax: true, allowNatural: true });
  const durationSec = values.has('duration') ? positive('duration', values.get('duration')!) : undefined;
  const count = values.has('count') ? positive('count', values.get('count')!, { integer: true }) : undefined;
  const seedRaw = values.get('seed') ?? '1';
  const seed = Number(seedRaw);
  if (!/^\d+$/.test(seedRaw) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a non-negative integer, got "${seedRaw}"`);
  const products = (values.get('products') ?? 'BTC-USD,ETH-USD,SOL-USD').split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bad = products.filter((p) => !PRODUCT_RE.test(p));
  if (products.length === 0 || bad.length > 0) throw new UsageError(`--products must be a comma-separated list of ids like BTC-USD${bad.length > 0 ? `; bad: ${bad.join(', ')}` : ''}`);
  if (new Set(products).size !== products.length) throw new UsageError('--products lists a product twice');
  return { brokers, sasl, topic, partitions, batchSize, drift, source: { kind: 'simulate', seed, products, rate, durationSec, count } };
}

/** SASL credentials from the same environment variables the consumer reads (KAFKA_SASL_*). */
function saslFromEnv(env: NodeJS.ProcessEnv): ProducerOptions['sasl'] {
  const r = new EnvReader({ KAFKA_SASL_MECHANISM: env.KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME: env.KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE: env.KAFKA_SASL_PASSWORD_FILE });
  const config = readKafkaClientConfig(r, { brokers: '127.0.0.1:9092', clientId: 'volwatch-producer' });
  try {
    r.finish();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.problems.join('; '));
    throw err;
  }
  return config.sasl;
}
