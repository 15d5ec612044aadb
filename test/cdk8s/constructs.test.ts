import { synthesize } from '../../cdk8s/app';
import { ManifestConfigError } from '../../cdk8s/common';

const fails = (props: Parameters<typeof synthesize>[0], message: string | RegExp) => {
  let err: unknown;
  try {
    synthesize(props);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ManifestConfigError);
  expect((err as Error).message).toMatch(message);
};

describe('constructor checks reject props that cannot work, saying how to fix them', () => {
  test('onnxruntime threads above whole CPUs in the limit', () => {
    fails(
      { api: { cpuLimit: '500m', ortIntraOpThreads: 2 } },
      'PredictionApi: cpuLimit 500m with ortIntraOpThreads 2: set ortIntraOpThreads <= 1 (threads must not exceed whole CPUs in the limit) or raise cpuLimit',
    );
    fails({ consumer: { cpuLimit: '2', ortInterOpThreads: 3 } }, /StreamConsumer: cpuLimit 2 with ortInterOpThreads 3: set ortInterOpThreads <= 2/);
  });

  test('images that are untagged or latest', () => {
    fails({ image: 'ghcr.io/volwatch/volwatch' }, /has no tag: pin a version, e\.g\. ghcr\.io\/volwatch\/volwatch:0\.1\.0/);
    fails({ image: 'ghcr.io/volwatch/volwatch:latest' }, /uses "latest": pin a version/);
    fails({ kafka: { image: 'apache/kafka' } }, /KafkaBroker: image "apache\/kafka" has no tag/);
  });

  test('requests above limits, a root-ish UID and an unknown model variant', () => {
    fails({ api: { cpuRequest: '2', cpuLimit: '1' } }, /cpuRequest 2 exceeds cpuLimit 1: lower cpuRequest or raise cpuLimit/);
    fails({ consumer: { memoryRequest: '1Gi', memoryLimit: '512Mi' } }, /memoryRequest 1Gi exceeds memoryLimit 512Mi/);
    fails({ api: { runAsUser: 1000 } }, /runAsUser 1000 must be an integer > 10000/);
    fails({ modelVariant: 'v2' as never }, /variant "v2" is not supported: use "ml" or "baseline"/);
  });

  test('a drain budget below one second, consumer topics the broker does not create, a bad KRaft cluster id', () => {
    fails({ api: { shutdownTimeoutMs: 10 } }, /shutdownTimeoutMs 10 must be an integer >= 1000/);
    fails({ consumer: { ticksTopic: 'trades' } }, /TICKS_TOPIC "trades" is not among the broker's topics .*: add it to KafkaBroker topics/);
    fails({ kafka: { clusterId: 'short' } }, /clusterId "short" must be 22 base64url characters/);
    fails({ kafka: { heap: '1g', memoryLimit: '1Gi' } }, /KafkaBroker: heap 1g leaves too little of memoryLimit 1Gi .*: keep heap <= 75% of memoryLimit/);
    fails({ monitoringNamespace: 'volwatch' }, /monitoringNamespace must differ from namespace volwatch/);
    fails({ kafka: { clients: ['Volwatch_Consumer'] } }, /KafkaBroker: clients entry "Volwatch_Consumer" is not a valid DNS label/);
  });

  test('the grace period follows the drain budget when it changes', () => {
    const objs = [...synthesize({ api: { shutdownTimeoutMs: 30000, preStopSleepSeconds: 10 } }).objects.values()].flat();
    const api = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'volwatch-api')!;
    expect(api.spec.template.spec.terminationGracePeriodSeconds).toBe(10 + 30 + 5);
  });

  test('the API PodDisruptionBudget keeps one replica serving, but never blocks drains of a single replica', () => {
    const pdb = (replicas: number) =>
      [...synthesize({ api: { replicas } }).objects.values()].flat().find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'volwatch-api')!.spec;
    expect(pdb(2)).toMatchObject({ minAvailable: 1 });
    expect(pdb(1)).toMatchObject({ maxUnavailable: 1 });
    expect(pdb(1).minAvailable).toBeUndefined();
  });
});
