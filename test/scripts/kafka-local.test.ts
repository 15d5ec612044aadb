import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Partitioners, type Kafka } from 'kafkajs';
import {
  KAFKA_LOCAL_SCRIPT,
  REPO_ROOT,
  brokers,
  createTopics,
  kafkaLocal,
  privateBroker,
  testKafka,
  uniqueTopic,
  type PrivateBroker,
} from '../support/kafka';

/** Runs the script directly (no helper defaults) and never rejects. */
function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [KAFKA_LOCAL_SCRIPT, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

function processAlive(pid: number): boolean {
  try {
    // A zombie left for a non-reaping init is not a running broker.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function produceKeyed(kafka: Kafka, topic: string, messages: Array<{ key: string; value: string }>): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: string;
}

/** Consumes `count` messages with a consumer group, commits them explicitly and disconnects. */
async function consumeAndCommit(kafka: Kafka, topic: string, groupId: string, count: number): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages within 20s`)), 20_000);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            received.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
            });
            await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
            if (received.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe('the shared test broker (KAFKA_BROKERS)', () => {
  let startedHere = false;

  beforeAll(async () => {
    // Under scripts/test.sh the broker is already up; a lone jest run starts it.
    const status = await kafkaLocal('status');
    if (status.code !== 0) {
      await kafkaLocal('start');
      startedHere = true;
    }
  }, 240_000);

  afterAll(async () => {
    if (startedHere) await kafkaLocal('stop');
  }, 60_000);

  it('is reported as running by status with exit code 0', async () => {
    const result = await kafkaLocal('status');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`running`);
    expect(result.stdout).toContain(brokers()[0]);
  });

  it('answers start with "already running", exit 0 and the broker address', async () => {
    const result = await kafkaLocal('start');
    expect(result.stderr).toContain('already running');
    expect(result.stdout.trim()).toBe(`KAFKA_BROKERS=${brokers()[0]}`);
  });

  it('shows a dry-run restart as SIGTERM plus a new broker launch, and leaves the broker running', async () => {
    const before = await kafkaLocal('status');
    const result = await kafkaLocal('restart', { args: ['--dry-run'] });
    expect(result.stdout).toMatch(/^\+ kill -TERM \d+$/m);
    expect(result.stdout).toMatch(/^\+ nohup \S*java .* kafka\.Kafka \S+server\.properties/m);
    const after = await kafkaLocal('status');
    expect(after.code).toBe(0);
    expect(after.stdout).toBe(before.stdout);
  });

  it('delivers keyed messages to a consumer group in per-key order and records its committed offsets', async () => {
    const kafka = testKafka('kafka-local-test');
    const topic = uniqueTopic('kafka-local-roundtrip');
    const groupId = uniqueTopic('kafka-local-group');
    await createTopics([topic], 3);

    const keys = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
    const sent = keys.flatMap((key) => [0, 1, 2].map((i) => ({ key, value: `${key}#${i}` })));
    await produceKeyed(kafka, topic, sent);

    const received = await consumeAndCommit(kafka, topic, groupId, sent.length);
    expect(received.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
    for (const key of keys) {
      const forKey = received.filter((m) => m.key === key);
      expect(new Set(forKey.map((m) => m.partition)).size).toBe(1);
      expect(forKey.map((m) => m.value)).toEqual([`${key}#0`, `${key}#1`, `${key}#2`]);
    }

    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      const committedByPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
      expect(ends).toHaveLength(3);
      for (const end of ends) {
        // Empty partitions have no commit (-1); every other one is committed up to its end.
        const expected = end.high === '0' ? '-1' : end.high;
        expect(committedByPartition.get(end.partition)).toBe(expected);
      }
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('refuses to auto-create a topic that was never created', async () => {
    const kafka = testKafka('kafka-local-test');
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 1 } });
    await producer.connect();
    try {
      await expect(
        producer.send({ topic: uniqueTopic('kafka-local-missing'), messages: [{ value: 'x' }], timeout: 2_000 }),
      ).rejects.toThrow('This server does not host this topic-partition');
    } finally {
      await producer.disconnect();
    }
  }, 30_000);
});

describe('kafka-local.sh lifecycle on private ports and a private work dir', () => {
  let broker: PrivateBroker;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  let address: string;

  beforeAll(async () => {
    broker = await privateBroker();
    ({ workDir, env } = broker);
    address = broker.brokers[0] ?? '';
  });

  afterAll(() => broker.dispose(), 60_000);

  function pid(): number {
    return Number(readFileSync(path.join(workDir, 'kafka.pid'), 'utf8').trim());
  }

  it('starts, is idempotent, keeps data across restart and stops quickly without leaving a process', async () => {
    const down = await kafkaLocal('status', { env });
    expect(down.code).toBe(3);

    const started = await kafkaLocal('start', { env });
    expect(started.stdout.trim()).toBe(`KAFKA_BROKERS=${address}`);
    expect((await kafkaLocal('status', { env })).code).toBe(0);
    const firstPid = pid();
    expect(processAlive(firstPid)).toBe(true);
    expect(existsSync(path.join(workDir, 'data', 'meta.properties'))).toBe(true);
    expect(existsSync(path.join(workDir, 'logs', 'server.log'))).toBe(true);

    const again = await kafkaLocal('start', { env });
    expect(again.stderr).toContain('already running');
    expect(pid()).toBe(firstPid);

    // A lost pid file must not lead to a second broker on the same data dir.
    rmSync(path.join(workDir, 'kafka.pid'));
    expect((await kafkaLocal('status', { env })).code).toBe(0);
    expect((await kafkaLocal('start', { env })).stderr).toContain(`already running (pid ${firstPid})`);

    const kafka = testKafka('kafka-local-lifecycle', [address]);
    const topic = uniqueTopic('kafka-local-restart');
    await createTopics([topic], 1, [address]);
    await produceKeyed(kafka, topic, [{ key: 'k', value: 'written-before-restart' }]);

    await kafkaLocal('restart', { env });
    const restartedPid = pid();
    expect(restartedPid).not.toBe(firstPid);
    expect(processAlive(firstPid)).toBe(false);
    const afterRestart = await consumeAndCommit(kafka, topic, uniqueTopic('kafka-local-restart-group'), 1);
    expect(afterRestart.map((m) => m.value)).toEqual(['written-before-restart']);

    const stopStarted = Date.now();
    const stopped = await kafkaLocal('stop', { env });
    expect(Date.now() - stopStarted).toBeLessThan(15_000);
    expect(stopped.stderr).toContain('stopped');
    expect(processAlive(restartedPid)).toBe(false);
    expect(existsSync(path.join(workDir, 'kafka.pid'))).toBe(false);
    expect((await kafkaLocal('status', { env })).code).toBe(3);

    const stopAgain = await kafkaLocal('stop', { env });
    expect(stopAgain.stderr).toContain('not running');
  }, 180_000);
});

describe('kafka-local.sh --dry-run and bad input', () => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'kafka-local-dry-'));
    env = {
      ...process.env,
      KAFKA_WORK_DIR: path.join(scratch, 'work'),
      KAFKA_CACHE_DIR: path.join(scratch, 'cache'),
      // Ports nobody listens on, so the in-use check passes whatever else runs.
      KAFKA_PORT: '1',
      KAFKA_CONTROLLER_PORT: '2',
    };
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('prints the mvn resolve, storage format and broker launch commands in order and changes nothing', async () => {
    const result = await runScript(['--dry-run', 'start'], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((l) => l.startsWith('+ '));
    const mvn = lines.findIndex((l) => /^\+ mvn .*kafka\.version=\d+\.\d+\.\d+.*copy-dependencies/.test(l));
    const format = lines.findIndex((l) => /java .*kafka\.tools\.StorageTool format/.test(l));
    const launch = lines.findIndex((l) => /java .*kafka\.Kafka .*server\.properties/.test(l));
    expect(mvn).toBeGreaterThanOrEqual(0);
    expect(format).toBeGreaterThan(mvn);
    expect(launch).toBeGreaterThan(format);
    expect(existsSync(path.join(scratch, 'work'))).toBe(false);
    expect(existsSync(path.join(scratch, 'cache'))).toBe(false);
  });

  it('rejects an unknown command with a sentence and a non-zero exit', async () => {
    const result = await runScript(['launch'], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown argument 'launch'");
  });

  it('rejects a non-numeric KAFKA_PORT', async () => {
    const result = await runScript(['--dry-run', 'start'], { ...env, KAFKA_PORT: 'ninety' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("KAFKA_PORT must be a port number between 1 and 65535, got 'ninety'");
  });

  it('names Java 17 when the Java found is older', async () => {
    const fakeHome = path.join(scratch, 'jdk11');
    mkdirSync(path.join(fakeHome, 'bin'), { recursive: true });
    const fakeJava = path.join(fakeHome, 'bin', 'java');
    writeFileSync(fakeJava, '#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n');
    chmodSync(fakeJava, 0o755);
    const result = await runScript(['--dry-run', 'start'], { ...env, JAVA_HOME: fakeHome });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Java 11\.0\.22 found .* needs Java 17 or newer/);
  });

  it('names the missing tool when java or mvn is not on PATH', async () => {
    // A PATH holding everything in /usr/bin except java and mvn.
    const bin = path.join(scratch, 'bin');
    mkdirSync(bin);
    for (const name of readdirSync('/usr/bin')) {
      if (!['java', 'mvn', 'mvnDebug'].includes(name)) symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
    }
    const noJava = await runScript(['--dry-run', 'start'], { ...env, PATH: bin, JAVA_HOME: '' });
    expect(noJava.code).toBe(1);
    expect(noJava.stderr).toContain('java is not installed');

    const javaOnly = path.join(scratch, 'java-bin');
    mkdirSync(javaOnly);
    const realJava = spawnSync('bash', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
    expect(realJava).not.toBe('');
    symlinkSync(realJava, path.join(javaOnly, 'java'));
    const noMvn = await runScript(['--dry-run', 'start'], { ...env, PATH: `${bin}:${javaOnly}`, JAVA_HOME: '' });
    expect(noMvn.code).toBe(1);
    expect(noMvn.stderr).toContain('mvn is not installed');
  });
});

describe('kafka-local.sh when Maven cannot resolve the jars', () => {
  it('stops with a sentence naming mvn and shows its output', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'kafka-local-mvn-'));
    try {
      // Stand-in for an offline Maven: fails the way mvn does without Central.
      const bin = path.join(scratch, 'bin');
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'mvn'), '#!/bin/sh\necho "[ERROR] Could not transfer artifact (offline stand-in)"\nexit 1\n');
      chmodSync(path.join(bin, 'mvn'), 0o755);
      const result = await runScript(['start'], {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        KAFKA_WORK_DIR: path.join(scratch, 'work'),
        KAFKA_CACHE_DIR: path.join(scratch, 'cache'),
        KAFKA_PORT: '1',
        KAFKA_CONTROLLER_PORT: '2',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Could not transfer artifact (offline stand-in)');
      expect(result.stderr).toMatch(/mvn could not resolve the Kafka \d+\.\d+\.\d+ jars/);
      expect(existsSync(path.join(scratch, 'work', 'kafka.pid'))).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('shell scripts owned by the Kafka tooling', () => {
  it('pass shellcheck', () => {
    const which = spawnSync('bash', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
    if (which.status !== 0) {
      throw new Error('shellcheck is not installed; install it (Debian: apt-get install shellcheck) to run this check');
    }
    const scripts = [KAFKA_LOCAL_SCRIPT];
    const result = spawnSync('shellcheck', scripts, { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
