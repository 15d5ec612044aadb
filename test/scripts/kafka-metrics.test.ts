import { spawnSync } from 'node:child_process';
import { BROKER_METRICS } from '../../cdk8s/kafka-metrics';
import { createTopics, testKafka, uniqueTopic } from '../support/kafka';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';

// The broker scripts/test.sh started (scripts/kafka-local.sh) serves its JMX exporter on KAFKA_PORT + 2.
const port = Number(process.env.KAFKA_METRICS_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2);

let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

test('the local broker serves every BROKER_METRICS name through the JMX exporter, and promtool check metrics finds nothing', async () => {
  // Traffic of our own, so the per-topic and group-coordinator series exist.
  const topic = uniqueTopic('jmx-exporter');
  await createTopics([topic], 1);
  const kafka = testKafka('volwatch-jmx-test');
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: uniqueTopic('jmx-exporter-group') });
  await Promise.all([producer.connect(), consumer.connect()]);
  try {
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => void consumer.run({ eachMessage: async () => void (++seen === 2 && resolve()) }));
    await consumer.commitOffsets([{ topic, partition: 0, offset: '2' }]);
  } finally {
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
  }
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const names = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
  expect(Object.values(BROKER_METRICS).filter((m) => !names.has(m))).toEqual([]);
  const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(check.stdout + check.stderr).toBe('');
  expect(check.status).toBe(0);
});
