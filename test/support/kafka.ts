import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const KAFKA_LOCAL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'kafka-local.sh');

/** Broker list from KAFKA_BROKERS (comma separated), default 127.0.0.1:9092. */
export function brokers(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (list.length === 0) throw new Error('KAFKA_BROKERS is set but lists no broker');
  return list;
}

/** A kafkajs client for tests, quiet unless something is wrong. */
export function testKafka(clientId = 'volwatch-test', brokerList: string[] = brokers()): Kafka {
  return new Kafka({ clientId, brokers: brokerList, logLevel: logLevel.NOTHING });
}

/** A topic name no other test run uses; Kafka allows [a-zA-Z0-9._-]. */
export function uniqueTopic(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates the topics (auto-creation is off on the test broker) and waits for their leaders. */
export async function createTopics(
  names: string[],
  partitions = 3,
  brokerList: string[] = brokers(),
): Promise<void> {
  const admin = testKafka('volwatch-test-admin', brokerList).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

export type KafkaLocalCommand = 'start' | 'stop' | 'restart' | 'status';

export interface KafkaLocalResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KafkaLocalError extends Error {
  constructor(
    readonly command: string,
    readonly result: KafkaLocalResult,
  ) {
    super(`scripts/kafka-local.sh ${command} exited with ${result.code}: ${result.stderr.trim()}`);
    this.name = 'KafkaLocalError';
  }
}

export interface KafkaLocalOptions {
  /** Extra environment; merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments such as --dry-run. */
  args?: string[];
  timeoutMs?: number;
}

/**
 * Runs scripts/kafka-local.sh. Rejects with KafkaLocalError on a non-zero exit,
 * except for `status`, whose exit 3 ("down") is a normal answer.
 * Unless KAFKA_PORT is given, the port is taken from the first KAFKA_BROKERS
 * entry so the script manages the broker the tests talk to.
 */
export function kafkaLocal(cmd: KafkaLocalCommand, options: KafkaLocalOptions = {}): Promise<KafkaLocalResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (env.KAFKA_PORT === undefined) {
    const port = /:(\d+)$/.exec(brokers(env)[0] ?? '')?.[1];
    if (port !== undefined) env.KAFKA_PORT = port;
  }
  const args = [KAFKA_LOCAL_SCRIPT, ...(options.args ?? []), cmd];
  return new Promise((resolve, reject) => {
    execFile('bash', args, { env, timeout: options.timeoutMs ?? 180_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      const result = { code, stdout, stderr };
      if (code === 0 || (cmd === 'status' && code === 3)) resolve(result);
      else reject(new KafkaLocalError(cmd, result));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port assigned')),
      );
    });
  });
}

export interface PrivateBroker {
  brokers: string[];
  /** Environment selecting this broker for kafkaLocal() and for code that reads KAFKA_BROKERS. */
  env: NodeJS.ProcessEnv;
  workDir: string;
  run(cmd: KafkaLocalCommand): Promise<KafkaLocalResult>;
  /** Stops the broker and deletes its work dir. */
  dispose(): Promise<void>;
}

/**
 * A broker of its own (free ports, temporary work dir) for tests that stop or
 * restart Kafka, so they do not disturb tests sharing KAFKA_BROKERS.
 * Not started until run('start').
 */
export async function privateBroker(): Promise<PrivateBroker> {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'volwatch-kafka-'));
  const address = `127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    KAFKA_WORK_DIR: workDir,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_BROKERS: address,
  };
  return {
    brokers: [address],
    env,
    workDir,
    run: (cmd) => kafkaLocal(cmd, { env }),
    dispose: async () => {
      try {
        await kafkaLocal('stop', { env });
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
}
