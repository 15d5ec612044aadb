import { Construct } from 'constructs';
import { CONSUMER_DEFAULTS } from '../services/consumer/config';
import { k8s } from 'cdk8s-plus-28';
import { check, DNS_EGRESS, namespaceSelector } from './common';
import type { KafkaBroker } from './kafka-broker';
import { componentLabels, type ComponentLabels } from './labels';
import { modelDeploymentSpec, type ModelServiceProps } from './workload';

export interface StreamConsumerProps extends ModelServiceProps {
  /** @default '100m' */
  readonly cpuRequest?: string;
  /** Whole CPUs in it bound the onnxruntime threads. @default '1' */
  readonly cpuLimit?: string;
  /** @default '192Mi' */
  readonly memoryRequest?: string;
  /** @default '512Mi' */
  readonly memoryLimit?: string;
  readonly kafka: KafkaBroker;
  /** Metrics, health and readiness port. @default 9465 */
  readonly metricsPort?: number;
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
export class StreamConsumer extends Construct {
  static readonly NAME = 'volwatch-consumer';
  readonly name = StreamConsumer.NAME;
  readonly namespace: string;
  readonly labels: ComponentLabels;
  readonly metricsPort: number;
  readonly metricsPortName = 'metrics';
  readonly metricsPath = '/metrics';

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.metricsPort = props.metricsPort ?? CONSUMER_DEFAULTS.metricsPort;
    this.labels = componentLabels({ name: this.name, component: 'consumer', instance: props.instance, version: props.version });
    const metadata = { name: this.name, namespace: this.namespace, labels: { ...this.labels.labels } };
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

    new k8s.KubeServiceAccount(this, 'sa', { metadata, automountServiceAccountToken: false });

    new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: modelDeploymentSpec({
        owner: 'StreamConsumer',
        props,
        defaults: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '192Mi', memoryLimit: '512Mi' },
        selector: this.labels.selector,
        labels: this.labels.labels,
        serviceAccountName: this.name,
        containerName: 'consumer',
        command: ['node', 'dist/services/consumer/main.js'],
        env: {
          METRICS_PORT: String(this.metricsPort),
          KAFKA_BROKERS: props.kafka.bootstrapServers,
          KAFKA_CLIENT_ID: this.name,
          KAFKA_GROUP_ID: props.groupId ?? 'volwatch-consumer',
          ...topics,
        },
        ports: [{ name: this.metricsPortName, containerPort: this.metricsPort, protocol: 'TCP' }],
        livenessPath: '/health',
        readinessPath: '/ready',
        probePort: this.metricsPortName,
        shutdownTimeoutMs: props.shutdownTimeoutMs ?? CONSUMER_DEFAULTS.shutdownTimeoutMs,
      }),
    });

    new k8s.KubeService(this, 'service', {
      metadata: {
        ...metadata,
        annotations: {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(this.metricsPort),
          'prometheus.io/path': this.metricsPath,
        },
      },
      spec: {
        type: 'ClusterIP',
        selector: { ...this.labels.selector },
        ports: [{ name: this.metricsPortName, port: this.metricsPort, targetPort: k8s.IntOrString.fromString(this.metricsPortName), protocol: 'TCP' }],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata,
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { ...this.labels.selector } } },
    });

    const kafkaPorts = props.kafka.clientPorts.map((p) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p) }));
    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata,
      spec: {
        podSelector: { matchLabels: { ...this.labels.selector } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ namespaceSelector: namespaceSelector(props.monitoringNamespace ?? 'monitoring') }],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(this.metricsPort) }],
          },
        ],
        egress: [
          // An external Kafka's addresses are unknown at synth time: only its ports can be pinned.
          props.kafka.external ? { ports: kafkaPorts } : { to: [{ podSelector: { matchLabels: { ...props.kafka.labels.selector } } }], ports: kafkaPorts },
          DNS_EGRESS,
        ],
      },
    });
  }
}
