import { readFileSync } from 'node:fs';
import { type CompressionTypes, type ICustomPartitioner, Kafka, type LogEntry, type Message, Partitioners, type Producer, type RecordMetadata, type SASLOptions, logLevel } from 'kafkajs';
import type { EnvReader } from './config';
import type { Logger } from './logger';

/** How every volwatch process reaches Kafka: the consumer, the producer and the topic tools. */
export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** SASL/SCRAM credentials; undefined means a plaintext listener without authentication. */
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
}

export const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

const BROKER_RE = /^[^\s:,]+:\d{1,5}$/;

/** `host:port[,host:port...]`, or undefined when any entry is malformed. */
export function parseBrokers(raw: string): string[] | undefined {
  const list = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  return list.length > 0 && list.every((b) => BROKER_RE.test(b) && Number(b.slice(b.lastIndexOf(':') + 1)) <= 65535) ? list : undefined;
}

/**
 * Reads KAFKA_BROKERS, KAFKA_CLIENT_ID and the optional SASL settings
 * (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE). The
 * password comes from a file (a mounted Secret), never from the environment,
 * so it does not show in `ps e` or in a pod's spec.
 */
export function readKafkaClientConfig(r: EnvReader, defaults: { brokers: string; clientId: string }): KafkaClientConfig {
  const brokers = r.custom('KAFKA_BROKERS', parseBrokers(defaults.brokers)!, parseBrokers, 'a comma-separated list of host:port');
  const clientId = r.string('KAFKA_CLIENT_ID', defaults.clientId);
  const mechanism = r.optional('KAFKA_SASL_MECHANISM') === undefined ? undefined : r.oneOf('KAFKA_SASL_MECHANISM', SASL_MECHANISMS, 'scram-sha-512');
  const username = r.optional('KAFKA_SASL_USERNAME');
  const passwordFile = r.optional('KAFKA_SASL_PASSWORD_FILE');
  if (mechanism === undefined) {
    r.check(username === undefined && passwordFile === undefined, 'KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE need KAFKA_SASL_MECHANISM (scram-sha-512, scram-sha-256 or plain)');
    return { brokers, clientId };
  }
  r.check(username !== undefined, `KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME`);
  let password: string | undefined;
  if (passwordFile === undefined) {
    r.check(false, `KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_PASSWORD_FILE (a file holding the password)`);
  } else {
    try {
      password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
      r.check(password !== '', `KAFKA_SASL_PASSWORD_FILE=${passwordFile}: the file is empty`);
    } catch (err) {
      r.check(false, `KAFKA_SASL_PASSWORD_FILE=${passwordFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return { brokers, clientId, sasl: { mechanism, username: username ?? '', password: password ?? '' } };
}

/** Routes kafkajs's own log lines into the service's structured logger. */
export function kafkaLogCreator(logger: Logger) {
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };
  return () =>
    ({ level, log, namespace }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      logger[levels[level] ?? 'info']({ kafkajs: namespace, ...rest }, message);
    };
}

export function createKafka(config: KafkaClientConfig, logger: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger.child({ component: 'kafkajs' })),
    ...(config.sasl ? { sasl: { ...config.sasl } as SASLOptions } : {}),
  });
}

/**
 * kafkajs groups a send's messages by partition by copying the partition's array
 * for every message, so one send costs O(n²) in its size (tulios/kafkajs PR #1576,
 * unmerged). Slices of this size keep that negligible.
 */
export const SEND_SLICE = 250;

/**
 * Sends the messages as concurrent slices and resolves once every slice is
 * acknowledged (acks -1: by all in-sync replicas); rejects if any slice failed.
 * Slices go out over the same connection in order; a retried slice may land
 * after a later one, which callers tolerate (records carry their own order fields).
 */
export async function sendAll(producer: Producer, topic: string, messages: Message[], compression?: CompressionTypes): Promise<RecordMetadata[]> {
  if (messages.length <= SEND_SLICE) return producer.send({ topic, messages, acks: -1, compression });
  const sends: Promise<RecordMetadata[]>[] = [];
  for (let i = 0; i < messages.length; i += SEND_SLICE) sends.push(producer.send({ topic, messages: messages.slice(i, i + SEND_SLICE), acks: -1, compression }));
  const settled = await Promise.allSettled(sends);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((s) => (s as PromiseFulfilledResult<RecordMetadata[]>).value);
}

/** Distinct keys remembered per partitioner before the memo starts over. */
const PARTITION_MEMO_LIMIT = 10_000;

/**
 * kafkajs's DefaultPartitioner (murmur2 of the key modulo the partition count, as the Java
 * client does), remembered per key and partition count: it otherwise hashes the key and
 * filters the partition list again for every record, one of the larger costs of producing
 * one prediction per tick. Records without a string key go to kafkajs's partitioner as is.
 */
export const MemoKeyPartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  let memo = new Map<string, Map<string | Buffer, number>>();
  let size = 0;
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    const key = message.key;
    if (key === null || key === undefined || (message.partition !== undefined && message.partition !== null)) return inner(args);
    const scope = `${topic}\u0000${partitionMetadata.length}`;
    let byKey = memo.get(scope);
    if (!byKey) memo.set(scope, (byKey = new Map()));
    // String keys by value; Buffer keys by identity (callers reuse one Buffer per key).
    let p = byKey.get(key);
    if (p === undefined) {
      p = inner(args);
      if (++size > PARTITION_MEMO_LIMIT) {
        memo = new Map([[scope, (byKey = new Map())]]);
        size = 1;
      }
      byKey.set(key, p);
    }
    return p;
  };
};
