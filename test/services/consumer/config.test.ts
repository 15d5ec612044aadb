import { ConfigError } from '../../../services/core/config';
import { CONSUMER_DEFAULTS, loadConsumerConfig } from '../../../services/consumer/config';

test('defaults follow the service contract', () => {
  const c = loadConsumerConfig({});
  expect(c).toMatchObject({
    host: '127.0.0.1',
    metricsPort: 9465,
    brokers: ['127.0.0.1:9092'],
    clientId: 'volwatch-consumer',
    groupId: 'volwatch-consumer',
    ticksTopic: 'ticks',
    predictionsTopic: 'predictions',
    deadLetterTopic: 'ticks.dlq',
    modelDir: 'services/model/artifacts',
    modelVariant: 'ml',
    modelVariantFile: undefined,
    ortIntraOpThreads: 1,
    ortInterOpThreads: 1,
    shutdownTimeoutMs: 20_000,
    maxOutOfOrderMs: 5000,
    maxCrashRestarts: 5,
    driftEnabled: true,
    logLevel: 'info',
  });
  expect(c.metricsPort).toBe(CONSUMER_DEFAULTS.metricsPort);
  // No version-only port unless asked for (the manifests set VERSION_PORT).
  expect(c.versionPort).toBeUndefined();
});

test('VERSION_PORT opens a second, version-only port that must differ from METRICS_PORT', () => {
  expect(loadConsumerConfig({ VERSION_PORT: '8080' }).versionPort).toBe(8080);
  expect(() => loadConsumerConfig({ VERSION_PORT: '9465' })).toThrow('VERSION_PORT (9465) must differ from METRICS_PORT');
  expect(() => loadConsumerConfig({ VERSION_PORT: 'http' })).toThrow('VERSION_PORT="http": expected an integer from 0 to 65535');
});

test('settings are read from the environment', () => {
  const c = loadConsumerConfig({ KAFKA_BROKERS: 'kafka-0.kafka:9092, kafka-1.kafka:9092', MODEL_VARIANT: 'baseline', MODEL_VARIANT_FILE: '/etc/volwatch/model/variant', DRIFT_ENABLED: 'false', HOST: '0.0.0.0' });
  expect(c.brokers).toEqual(['kafka-0.kafka:9092', 'kafka-1.kafka:9092']);
  expect(c.modelVariant).toBe('baseline');
  expect(c.modelVariantFile).toBe('/etc/volwatch/model/variant');
  expect(c.driftEnabled).toBe(false);
  expect(c.host).toBe('0.0.0.0');
});

test('every invalid setting is reported at once', () => {
  let error: unknown;
  try {
    loadConsumerConfig({ KAFKA_BROKERS: 'kafka', MAX_BATCH_ROWS: '0', MODEL_VARIANT: 'gpt', PREDICTIONS_TOPIC: 'ticks', KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems.join('\n');
  expect(problems).toContain('KAFKA_BROKERS="kafka": expected a comma-separated list of host:port');
  expect(problems).toContain('MAX_BATCH_ROWS="0"');
  expect(problems).toContain('MODEL_VARIANT="gpt"');
  expect(problems).toContain('must be three different topics');
  expect(problems).toContain('at most a third of KAFKA_SESSION_TIMEOUT_MS');
});
