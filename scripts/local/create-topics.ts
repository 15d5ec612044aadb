/** Creates the topics the local stack uses, if missing (the cluster has a Job for this). */
import { Kafka, logLevel } from 'kafkajs';

const TOPICS = [
  { topic: process.env.TICKS_TOPIC ?? 'ticks', numPartitions: 3 },
  { topic: process.env.PREDICTIONS_TOPIC ?? 'predictions', numPartitions: 3 },
  { topic: process.env.DEAD_LETTER_TOPIC ?? 'ticks.dlq', numPartitions: 1 },
];

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'volwatch-local', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = TOPICS.filter((t) => !existing.has(t.topic)).map((t) => ({ ...t, replicationFactor: 1 }));
    if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
    process.stdout.write(`topics ready: ${TOPICS.map((t) => t.topic).join(', ')}${missing.length ? ` (created ${missing.map((t) => t.topic).join(', ')})` : ''}\n`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`create-topics: cannot reach Kafka at ${process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'}: ${(err as Error).message}\n`);
  process.exit(1);
});
