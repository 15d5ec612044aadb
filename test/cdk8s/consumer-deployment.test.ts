import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { REPO_ROOT, synthesize } from '../../cdk8s/app';
import { freshTopics, produceTicks, readTopic, simulatedTicks, waitFor, type Topics } from '../services/consumer/helpers';
import { brokers, testKafka } from '../support/kafka';

/**
 * Runs the real consumer with the env, ports and probe paths of the synthesized
 * Deployment against the test Kafka (KAFKA_BROKERS, provisioned by scripts/test.sh).
 * Only the broker address, topics (fresh per run), HOST and the port move.
 */
type Obj = Record<string, any>;
const deployment = [...synthesize().objects.values()].flat().find((o) => o.kind === 'Deployment' && o.metadata.name === 'volwatch-consumer') as Obj;
const container = deployment.spec.template.spec.containers[0] as Obj;
const env: Record<string, string> = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('the synthesized consumer Deployment against the real consumer and Kafka', () => {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let port: number;
  let topics: Topics;
  const kafka = testKafka('volwatch-cdk8s-consumer-test');

  beforeAll(async () => {
    topics = await freshTopics('cdk8s-consumer');
    port = await freePort();
    // The in-cluster broker authenticates clients (SCRAM, a password file from a Secret); the test
    // broker is the plaintext local one, so the SASL settings stay out: everything else is the Deployment's.
    const { MODEL_VARIANT_FILE: _variantFile, KAFKA_SASL_MECHANISM: _m, KAFKA_SASL_USERNAME: _u, KAFKA_SASL_PASSWORD_FILE: _p, ...deploymentEnv } = env;
    child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['services/consumer/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...deploymentEnv,
        HOST: '127.0.0.1',
        METRICS_PORT: String(port),
        MODEL_DIR: path.join(REPO_ROOT, 'services/model/artifacts'),
        KAFKA_BROKERS: brokers().join(','),
        KAFKA_GROUP_ID: topics.group,
        TICKS_TOPIC: topics.ticks,
        PREDICTIONS_TOPIC: topics.predictions,
        DEAD_LETTER_TOPIC: topics.dlq,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  test('startup, liveness and readiness probes answer 200 on the named metrics port, which serves /metrics', async () => {
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      const named = container.ports.find((p: Obj) => p.name === probe.httpGet.port);
      expect(named.containerPort).toBe(Number(env.METRICS_PORT));
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}${probe.httpGet.path}`)).status === 200 ? true : undefined), 30_000, `GET ${probe.httpGet.path}`);
    }
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain('volwatch_consumer_');
  }, 45_000);

  test('ticks on the ticks topic become predictions', async () => {
    await produceTicks(kafka, topics.ticks, simulatedTicks(150));
    const records = await waitFor(async () => {
      const r = await readTopic(kafka, topics.predictions);
      return r.length > 0 ? r : undefined;
    }, 45_000, 'predictions');
    expect(records.length).toBeGreaterThan(0);
  }, 60_000);

  test('on SIGTERM the consumer drains and exits within the grace period left after preStop', async () => {
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    const budgetMs = (deployment.spec.template.spec.terminationGracePeriodSeconds - preStop) * 1000;
    const t0 = Date.now();
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(budgetMs);
  }, 60_000);
});
