import * as path from 'node:path';
import type { Construct } from 'constructs';
import { CONSUMER_DEFAULTS } from '../services/consumer/config';
import { CONSUMER_VERSION_PORT_NAME } from '../services/rollback/options';
import { k8s } from 'cdk8s-plus-28';
import { check, DNS_EGRESS } from './common';
import { KAFKA_PASSWORD_FILE, KAFKA_USERS, kafkaPasswordVolume, type KafkaBroker } from './kafka-broker';
import { ModelService, modelWorkload, type ModelServiceProps } from './workload';

export interface StreamConsumerProps extends ModelServiceProps {
  readonly kafka: KafkaBroker;
  /** Metrics, health and readiness port. @default 9465 */
  readonly metricsPort?: number;
  /**
   * Port serving only GET /version (VERSION_PORT), admitted from anywhere by the NetworkPolicy so
   * `npm run rollback` can read the variant through the API server's pod proxy on any CNI, while
   * the metrics port stays closed to all but the monitoring namespace. @default 8080
   */
  readonly versionPort?: number;
  /** Graceful drain budget passed as SHUTDOWN_TIMEOUT_MS. @default 20000 */
  readonly shutdownTimeoutMs?: number;
  /** @default 'volwatch-consumer' */
  readonly groupId?: string;
  /** @default 'ticks' */
  readonly ticksTopic?: string;
  /** @default 'predictions' */
  readonly predictionsTopic?: string;
  /** @default 'ticks.dlq' */
  readonly deadLetterTopic?: string;
}

/** The stream consumer: ServiceAccount, Deployment, metrics Service, PodDisruptionBudget, NetworkPolicy. */
export class StreamConsumer extends ModelService {
  static readonly NAME = 'volwatch-consumer';
  static readonly VERSION_PORT = 8080;
  /** The container port `npm run rollback` reads /version from (services/rollback/pods.ts). */
  static readonly VERSION_PORT_NAME = CONSUMER_VERSION_PORT_NAME;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id, StreamConsumer.NAME, 'consumer', props, props.metricsPort ?? CONSUMER_DEFAULTS.metricsPort);
    const topics = {
      TICKS_TOPIC: props.ticksTopic ?? 'ticks',
      PREDICTIONS_TOPIC: props.predictionsTopic ?? 'predictions',
      DEAD_LETTER_TOPIC: props.deadLetterTopic ?? 'ticks.dlq',
    };
    if (!props.kafka.external) {
      const created = new Set(props.kafka.topics.map((t) => t.name));
      for (const [key, topic] of Object.entries(topics)) {
        check(created.has(topic), `StreamConsumer: ${key} ${JSON.stringify(topic)} is not among the broker's topics (${[...created].join(', ')}): add it to KafkaBroker topics`);
      }
    }

    const versionPort = props.versionPort ?? StreamConsumer.VERSION_PORT;
    check(Number.isInteger(versionPort) && versionPort > 0 && versionPort < 65536 && versionPort !== this.metricsPort, `StreamConsumer: versionPort ${versionPort} must be a port number other than the metrics port ${this.metricsPort}`);
    const kafkaPorts = props.kafka.clientPorts.map((p) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p) }));
    modelWorkload(this, {
      pod: {
        owner: 'StreamConsumer',
        props,
        containerName: 'consumer',
        command: ['node', 'dist/services/consumer/main.js'],
        env: {
          METRICS_PORT: String(this.metricsPort),
          VERSION_PORT: String(versionPort),
          KAFKA_BROKERS: props.kafka.bootstrapServers,
          KAFKA_CLIENT_ID: this.name,
          KAFKA_GROUP_ID: props.groupId ?? 'volwatch-consumer',
          ...topics,
          // The in-namespace broker authenticates its clients (SCRAM-SHA-512, its own user).
          ...(props.kafka.external
            ? {}
            : { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: KAFKA_USERS.consumer, KAFKA_SASL_PASSWORD_FILE: KAFKA_PASSWORD_FILE }),
        },
        extraVolumes: props.kafka.external ? [] : [{ volume: kafkaPasswordVolume('consumer'), mountPath: path.posix.dirname(KAFKA_PASSWORD_FILE) }],
        livenessPath: '/health',
        readinessPath: '/ready',
        probePort: this.metricsPortName,
        shutdownTimeoutMs: props.shutdownTimeoutMs ?? CONSUMER_DEFAULTS.shutdownTimeoutMs,
      },
      ports: [
        { name: this.metricsPortName, port: this.metricsPort },
        { name: StreamConsumer.VERSION_PORT_NAME, port: versionPort },
      ],
      // The API server's pod proxy comes from an address no selector names (a node, a managed
      // control plane, a tunnel), so the version-only port admits every source.
      ingress: [{ ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(versionPort) }] }],
      // One pod at a time leaves the group during drains: one rebalance each.
      disruptionBudget: { maxUnavailable: 1 },
      egress: [
        // An external Kafka's addresses are unknown at synth time: only its ports can be pinned.
        props.kafka.external ? { ports: kafkaPorts } : { to: [{ podSelector: { matchLabels: { ...props.kafka.labels.selector } } }], ports: kafkaPorts },
        DNS_EGRESS,
      ],
    });
  }
}
