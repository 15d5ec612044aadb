import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { check, checkImage, DNS_EGRESS, memoryBytes, resources, restrictedContainerSecurity, restrictedPodSecurity, type ResourceProps } from './common';
import { componentLabels, type ComponentLabels } from './labels';

/** Kafka version of the local broker: `scripts/kafka/VERSION` when present, so kind and local runs agree. */
export function defaultKafkaVersion(repoRoot: string = path.resolve(__dirname, '..')): string {
  const file = path.join(repoRoot, 'scripts/kafka/VERSION');
  const v = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '3.9.1';
  check(/^\d+\.\d+\.\d+$/.test(v), `KafkaBroker: ${file} holds ${JSON.stringify(v)}: it must be a plain version like 3.9.1`);
  return v;
}

export const DEFAULT_TOPICS: readonly TopicSpec[] = [
  { name: 'ticks', partitions: 3 },
  { name: 'predictions', partitions: 3 },
  { name: 'ticks.dlq', partitions: 1 },
];

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface KafkaBrokerProps extends Partial<ResourceProps> {
  /** @default '200m' */
  readonly cpuRequest?: string;
  /** @default '1' */
  readonly cpuLimit?: string;
  /** @default '768Mi' */
  readonly memoryRequest?: string;
  /** Heap must stay <= 75% of it. @default '1Gi' */
  readonly memoryLimit?: string;
  readonly namespace: string;
  readonly instance: string;
  /**
   * `host:port[,host:port]` of an existing Kafka. When set, nothing is deployed:
   * clients get this address and their egress is opened to its ports.
   * @default undefined (a single-node KRaft broker runs in the namespace)
   */
  readonly externalBootstrapServers?: string;
  /** @default the content of scripts/kafka/VERSION, else 3.9.1 */
  readonly kafkaVersion?: string;
  /** @default `apache/kafka:<kafkaVersion>` */
  readonly image?: string;
  /** Base64url-encoded 16-byte KRaft cluster id. @default 'dm9sd2F0Y2gta3JhZnQtMQ' */
  readonly clusterId?: string;
  /** @default '2Gi' */
  readonly storage?: string;
  /** @default DEFAULT_TOPICS (ticks, predictions, ticks.dlq) */
  readonly topics?: readonly TopicSpec[];
  /** JVM heap; must leave headroom under memoryLimit. @default '512m' */
  readonly heap?: string;
}

/** UID/GID of `appuser` in the apache/kafka image. */
const KAFKA_UID = 1000;

/**
 * A single-node KRaft Kafka (StatefulSet with a PVC, Services, PDB, NetworkPolicy)
 * and an idempotent topic-creation Job; or only the address of an existing Kafka.
 */
export class KafkaBroker extends Construct {
  static readonly NAME = 'kafka';
  static readonly CLIENT_PORT = 9092;
  readonly bootstrapServers: string;
  readonly external: boolean;
  readonly labels: ComponentLabels;
  /** Ports clients must reach; drives the consumer's egress policy. */
  readonly clientPorts: readonly number[];
  readonly topics: readonly TopicSpec[];

  constructor(scope: Construct, id: string, props: KafkaBrokerProps) {
    super(scope, id);
    const version = props.kafkaVersion ?? defaultKafkaVersion();
    this.labels = componentLabels({ name: KafkaBroker.NAME, component: 'broker', instance: props.instance, version });
    this.topics = props.topics ?? DEFAULT_TOPICS;
    for (const t of this.topics) {
      check(/^[A-Za-z0-9._-]{1,249}$/.test(t.name), `KafkaBroker: topic name ${JSON.stringify(t.name)} is not valid: use letters, digits, ".", "_" and "-"`);
      check(Number.isInteger(t.partitions) && t.partitions >= 1, `KafkaBroker: topic ${t.name} partitions ${t.partitions} must be an integer >= 1`);
    }

    if (props.externalBootstrapServers !== undefined) {
      const servers = props.externalBootstrapServers.split(',').map((s) => s.trim());
      const ports = servers.map((s) => {
        const m = /^[A-Za-z0-9.-]+:(\d{1,5})$/.exec(s);
        check(m !== null, `KafkaBroker: externalBootstrapServers entry ${JSON.stringify(s)} must be host:port, e.g. kafka.example.com:9092`);
        return Number(m[1]);
      });
      this.external = true;
      this.bootstrapServers = servers.join(',');
      this.clientPorts = [...new Set(ports)].sort((a, b) => a - b);
      return;
    }

    this.external = false;
    this.clientPorts = [KafkaBroker.CLIENT_PORT];
    const ns = props.namespace;
    const image = props.image ?? `apache/kafka:${version}`;
    checkImage('KafkaBroker', image);
    const clusterId = props.clusterId ?? 'dm9sd2F0Y2gta3JhZnQtMQ';
    check(/^[A-Za-z0-9_-]{22}$/.test(clusterId), `KafkaBroker: clusterId ${JSON.stringify(clusterId)} must be 22 base64url characters (16 bytes), e.g. from kafka-storage.sh random-uuid`);
    const heap = props.heap ?? '512m';
    check(/^\d+[mg]$/.test(heap), `KafkaBroker: heap ${JSON.stringify(heap)} must look like 512m or 1g`);
    const res: ResourceProps = {
      cpuRequest: props.cpuRequest ?? '200m',
      cpuLimit: props.cpuLimit ?? '1',
      memoryRequest: props.memoryRequest ?? '768Mi',
      memoryLimit: props.memoryLimit ?? '1Gi',
    };
    const heapBytes = Number(heap.slice(0, -1)) * (heap.endsWith('g') ? 2 ** 30 : 2 ** 20);
    check(
      heapBytes <= 0.75 * memoryBytes(res.memoryLimit),
      `KafkaBroker: heap ${heap} leaves too little of memoryLimit ${res.memoryLimit} for page cache and off-heap buffers: keep heap <= 75% of memoryLimit`,
    );
    const headless = `${KafkaBroker.NAME}-headless`;
    this.bootstrapServers = `${KafkaBroker.NAME}.${ns}.svc.cluster.local:${KafkaBroker.CLIENT_PORT}`;
    const metadata = { name: KafkaBroker.NAME, namespace: ns, labels: { ...this.labels.labels } };
    const selector = { matchLabels: { ...this.labels.selector } };
    const tcp = (n: number) => k8s.IntOrString.fromNumber(n);

    new k8s.KubeServiceAccount(this, 'sa', { metadata, automountServiceAccountToken: false });

    new k8s.KubeService(this, 'headless', {
      metadata: { ...metadata, name: headless },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: { ...this.labels.selector },
        ports: [
          { name: 'client', port: KafkaBroker.CLIENT_PORT, targetPort: k8s.IntOrString.fromString('client') },
          { name: 'controller', port: 9093, targetPort: k8s.IntOrString.fromString('controller') },
        ],
      },
    });
    new k8s.KubeService(this, 'client', {
      metadata,
      spec: { selector: { ...this.labels.selector }, ports: [{ name: 'client', port: KafkaBroker.CLIENT_PORT, targetPort: k8s.IntOrString.fromString('client') }] },
    });

    const env: Record<string, string> = {
      CLUSTER_ID: clusterId,
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${KafkaBroker.CLIENT_PORT},CONTROLLER://:9093`,
      // A single broker: the client Service name is a stable address for it.
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${this.bootstrapServers}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LOG_DIRS: '/var/lib/kafka/data',
      KAFKA_NUM_PARTITIONS: '3',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_HEAP_OPTS: `-Xms${heap} -Xmx${heap}`,
    };

    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata,
      spec: {
        serviceName: headless,
        replicas: 1,
        podManagementPolicy: 'Parallel',
        selector,
        template: {
          metadata: { labels: { ...this.labels.labels } },
          spec: {
            serviceAccountName: KafkaBroker.NAME,
            automountServiceAccountToken: false,
            // Service links would inject KAFKA_PORT/KAFKA_SERVICE_HOST, which the image turns into broker properties.
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 60,
            securityContext: restrictedPodSecurity(KAFKA_UID),
            containers: [
              {
                name: 'kafka',
                image,
                imagePullPolicy: 'IfNotPresent',
                ports: [
                  { name: 'client', containerPort: KafkaBroker.CLIENT_PORT, protocol: 'TCP' },
                  { name: 'controller', containerPort: 9093, protocol: 'TCP' },
                ],
                env: Object.keys(env)
                  .sort()
                  .map((name) => ({ name, value: env[name] })),
                resources: resources('KafkaBroker', res),
                securityContext: { ...restrictedContainerSecurity(KAFKA_UID), readOnlyRootFilesystem: false },
                startupProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 3, failureThreshold: 60 },
                readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 10, failureThreshold: 6 },
                // The image renders its configuration into its own filesystem at start (the
                // directory differs between image versions), so only this container keeps a
                // writable root; everything else of the restricted profile still applies.
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/kafka/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: { ...this.labels.selector } },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString(props.storage ?? '2Gi') } } },
          },
        ],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', { metadata, spec: { maxUnavailable: tcp(1), selector } });

    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata,
      spec: {
        podSelector: selector,
        policyTypes: ['Ingress', 'Egress'],
        // Clients live in this namespace (consumer, topic Job, producer); the controller port is pod-local.
        ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }] }],
        // Itself through its advertised Service address (hairpin), and DNS to resolve it.
        egress: [{ to: [{ podSelector: selector }], ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }] }, DNS_EGRESS],
      },
    });

    const topicsLabels = componentLabels({ name: 'kafka-topics', component: 'topics', instance: props.instance, version });
    const script = [
      'set -eu',
      `until /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --list >/dev/null; do echo "waiting for $BOOTSTRAP"; sleep 3; done`,
      ...this.topics.map(
        (t) => `/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic ${t.name} --partitions ${t.partitions} --replication-factor 1`,
      ),
      '/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --describe',
    ].join('\n');
    new k8s.KubeJob(this, 'topics', {
      metadata: { name: 'kafka-topics', namespace: ns, labels: { ...topicsLabels.labels } },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 600,
        template: {
          metadata: { labels: { ...topicsLabels.labels } },
          spec: {
            restartPolicy: 'OnFailure',
            serviceAccountName: KafkaBroker.NAME,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(KAFKA_UID),
            containers: [
              {
                name: 'create-topics',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sh', '-c', script],
                env: [
                  { name: 'BOOTSTRAP', value: this.bootstrapServers },
                  { name: 'KAFKA_HEAP_OPTS', value: '-Xmx128m' },
                  { name: 'LOG_DIR', value: '/tmp/logs' },
                ],
                resources: resources('KafkaBroker topics Job', { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '192Mi', memoryLimit: '256Mi' }),
                securityContext: restrictedContainerSecurity(KAFKA_UID),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
          },
        },
      },
    });
  }
}
