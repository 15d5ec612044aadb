import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { UsageError, parseProducerArgs } from '../../../services/producer/cli';
import { REPO_ROOT } from '../../support/kafka';

const env = { KAFKA_BROKERS: '127.0.0.1:9092' };

test('simulation flags become options; rate "max" means unpaced', () => {
  const o = parseProducerArgs(['--rate', '2000', '--duration', '30', '--products', 'BTC-USD,ETH-USD', '--seed', '1', '--topic=my.ticks'], env);
  expect(o).toMatchObject({ topic: 'my.ticks', brokers: ['127.0.0.1:9092'], partitions: 3, source: { kind: 'simulate', rate: 2000, durationSec: 30, products: ['BTC-USD', 'ETH-USD'], seed: 1 } });
  expect(parseProducerArgs(['--rate', 'max', '--count', '10'], env)).toMatchObject({ source: { rate: Infinity, count: 10 } });
});

test('the default pace is the simulated market\'s own ("natural", the pace of the training data)', () => {
  expect(parseProducerArgs([], env)).toMatchObject({ source: { kind: 'simulate', rate: 'natural', seed: 1 } });
  expect(parseProducerArgs(['--rate', 'natural', '--drift', 'spread=scale:3'], env)).toMatchObject({ source: { rate: 'natural' }, drift: { rules: [{ field: 'spread' }] } });
});

test('replay and drift flags become options', () => {
  const o = parseProducerArgs(['--replay', 'ticks.jsonl', '--speed', '10', '--drift-after', '60', '--drift', 'volatility=scale:3,size=shift:0.5'], env);
  expect(o).toMatchObject({
    source: { kind: 'replay', file: 'ticks.jsonl', speed: 10, keepTime: false },
    drift: { afterSec: 60, rules: [{ field: 'volatility', op: 'scale', value: 3 }, { field: 'size', op: 'shift', value: 0.5 }] },
  });
  expect(parseProducerArgs(['--replay', 'x.csv', '--speed', 'max', '--keep-time'], env)).toMatchObject({ source: { speed: Infinity, keepTime: true } });
});

test.each([
  [['--rate', '-5'], '--rate must be a positive number or "natural" or "max", got "-5"'],
  [['--rate'], '--rate needs a value'],
  [['--bogus'], 'unknown argument "--bogus"'],
  [['--products', 'btc'], 'bad: btc'],
  [['--replay', 'ticks.txt'], 'expects a .jsonl, .ndjson or .csv file'],
  [['--replay', 'a.jsonl', '--rate', '5'], '--replay cannot be combined with --rate'],
  [['--speed', '2'], '--speed only apply with --replay'],
  [['--drift', 'price=double:2'], '"price=double:2" is not field=op:value'],
  [['--drift', 'volatility=shift:2'], 'volatility can only be scaled'],
  [['--drift-after', '5'], '--drift-after needs --drift'],
  [['--topic', 'no spaces'], '--topic must be a Kafka topic name'],
  [['--brokers', 'localhost'], 'must be a comma-separated list of host:port'],
  [['--count', '1.5'], '--count must be a positive integer'],
])('rejects %j with a sentence', (argv, message) => {
  expect(() => parseProducerArgs(argv, env)).toThrow(UsageError);
  expect(() => parseProducerArgs(argv, env)).toThrow(message);
});

test('the CLI exits 2 with the reason on bad input', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join('services', 'producer', 'main.ts'), '--rate', 'fast'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(res.status).toBe(2);
  expect(res.stderr).toBe('volwatch-producer: --rate must be a positive number or "natural" or "max", got "fast"\n');
});

test('a bad replay file exits 2 before any connection to Kafka', () => {
  // Nothing listens on port 1: had the producer tried to connect, it would retry for a long time and exit 1.
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join('services', 'producer', 'main.ts'), '--replay', '/nonexistent/ticks.jsonl', '--brokers', '127.0.0.1:1'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(res.status).toBe(2);
  expect(res.stderr).toBe('volwatch-producer: cannot read replay file /nonexistent/ticks.jsonl: ENOENT\n');
});
