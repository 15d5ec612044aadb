import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { check, checkDnsLabel, checkImage, DNS_EGRESS, memoryBytes, namespaceSelector, resources, restrictedContainerSecurity, restrictedPodSecurity, type ResourceProps } from './common';
import { JMX_EXPORTER_PORT, jmxExporterConfig } from './kafka-metrics';
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
  /**
   * Image holding the Prometheus JMX exporter agent at JMX_AGENT_PATH; an init container
   * copies it into the broker pod, whose JVM loads it (KAFKA_OPTS) and serves /metrics on
   * JMX_EXPORTER_PORT. The volwatch image carries it (Dockerfile); synthesize() passes that image.
   * @default undefined (no exporter: the broker exposes no metrics)
   */
  readonly jmxExporterImage?: string;
  /** Namespace of the Prometheus that scrapes the broker's metrics port. @default 'monitoring' */
  readonly monitoringNamespace?: string;
  /**
   * `app.kubernetes.io/name` of the pods in the namespace that may open the client port,
   * besides the topic Job: every other pod is refused by the broker's NetworkPolicy.
   * @default KAFKA_CLIENTS (the consumer, and the producer when you run it in the cluster)
   */
  readonly clients?: readonly string[];
}

const TOPICS_JOB = 'kafka-topics';

/**
 * SCRAM-SHA-512 users of the client listener, by the key of their password in the Secret
 * KAFKA_CREDENTIALS_SECRET, which the bootstrap scripts create (scripts/lib/cluster-install.sh:
 * random passwords, kept when the Secret exists). The broker registers every user when it formats
 * its storage; each client mounts only its own key.
 */
export const KAFKA_USERS = { consumer: 'volwatch-consumer', producer: 'volwatch-producer', topics: TOPICS_JOB } as const;
export type KafkaUser = keyof typeof KAFKA_USERS;
/** The workloads that talk to the broker: the stream consumer and the tick producer. */
export const KAFKA_CLIENTS: readonly string[] = [KAFKA_USERS.consumer, KAFKA_USERS.producer];
export const KAFKA_CREDENTIALS_SECRET = 'kafka-credentials';
/** Where a client container finds its own password (KAFKA_SASL_PASSWORD_FILE). */
export const KAFKA_PASSWORD_FILE = '/var/run/secrets/volwatch/kafka/password';
/** The broker's own listener for in-pod tools (and the inter-broker traffic of this one broker): loopback, no authentication. */
const KAFKA_INTERNAL_PORT = 9095;
const CREDENTIALS_DIR = '/etc/kafka-credentials';

/** Where the volwatch image keeps the JMX exporter agent jar. */
export const JMX_AGENT_PATH = '/opt/jmx-exporter/jmx_prometheus_javaagent.jar';
const AGENT_DIR = '/opt/jmx-exporter';
/** Where the init container sees the volume the broker mounts at AGENT_DIR. */
const AGENT_COPY_DIR = '/jmx-exporter-volume';
const JMX_CONFIG_DIR = '/etc/jmx-exporter';

/**
 * UID/GID of the broker and the topic Job: above every distribution's system and login ranges.
 * Any UID works with either image (apache/kafka or scripts/node-images.sh's), because nothing is
 * written outside the volumes: the configuration comes from a ConfigMap.
 */
export const KAFKA_UID = 10002;
/** Where the image keeps the Kafka jars (apache/kafka and scripts/node-images.sh alike). */
export const KAFKA_LIBS = '/opt/kafka/libs';
const CONFIG_DIR = '/etc/kafka-config';
const DATA_DIR = '/var/lib/kafka/data';
const CONTROLLER_PORT = 9093;
/** What kafka-run-class.sh passes to the broker JVM besides the heap. */
const JVM_OPTS = '-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true';

/** The volume holding one client's password at KAFKA_PASSWORD_FILE (mount it at its directory). */
export function kafkaPasswordVolume(user: KafkaUser): k8s.Volume {
  return {
    name: 'kafka-password',
    secret: { secretName: KAFKA_CREDENTIALS_SECRET, items: [{ key: user, path: path.posix.basename(KAFKA_PASSWORD_FILE) }], defaultMode: 0o440 },
  };
}

/** A Java properties file, keys in the given order. */
function properties(entries: Record<string, string | number>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
    .concat('\n');
}

/** Broker logs to stdout only (the kubelet keeps them); request and state-change chatter at WARN. */
const LOG4J2 = [
  'status = warn',
  'appender.stdout.type = Console',
  'appender.stdout.name = stdout',
  'appender.stdout.layout.type = PatternLayout',
  'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = stdout',
  'logger.request.name = kafka.request.logger',
  'logger.request.level = WARN',
  'logger.statechange.name = state.change.logger',
  'logger.statechange.level = WARN',
  '',
].join('\n');

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
  readonly name = KafkaBroker.NAME;
  readonly namespace: string;
  /** True when the broker runs here with the JMX exporter: ServiceMonitoring scrapes it then. */
  readonly metrics: boolean;
  readonly metricsPortName = 'metrics';
  readonly metricsPath = '/metrics';

  constructor(scope: Construct, id: string, props: KafkaBrokerProps) {
    super(scope, id);
    const version = props.kafkaVersion ?? defaultKafkaVersion();
    this.labels = componentLabels({ name: KafkaBroker.NAME, component: 'broker', instance: props.instance, version });
    this.topics = props.topics ?? DEFAULT_TOPICS;
    this.namespace = props.namespace;
    this.metrics = props.externalBootstrapServers === undefined && props.jmxExporterImage !== undefined;
    if (props.jmxExporterImage !== undefined) checkImage('KafkaBroker jmxExporterImage', props.jmxExporterImage);
    const clients = props.clients ?? KAFKA_CLIENTS;
    for (const c of clients) checkDnsLabel('KafkaBroker', 'clients entry', c);
    // Clients are admitted by their name label alone (plus the instance), the two labels a user's
    // own producer pod is asked to carry (docs/deploy.md).
    const byName = (name: string) => ({ matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': props.instance } });
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
        ],
      },
    });
    new k8s.KubeService(this, 'client', {
      metadata,
      spec: {
        selector: { ...this.labels.selector },
        ports: [
          { name: 'client', port: KafkaBroker.CLIENT_PORT, targetPort: k8s.IntOrString.fromString('client') },
          // Only this Service names a metrics port, so the ServiceMonitor finds one target, job "kafka".
          ...(this.metrics ? [{ name: this.metricsPortName, port: JMX_EXPORTER_PORT, targetPort: k8s.IntOrString.fromString(this.metricsPortName) }] : []),
        ],
      },
    });

    // The broker is configured by a rendered server.properties, which any image with the Kafka
    // jars honours (the apache/kafka image's KAFKA_* environment is specific to its entrypoint).
    const serverProperties = properties({
      'process.roles': 'broker,controller',
      'node.id': 1,
      'controller.quorum.voters': `1@127.0.0.1:${CONTROLLER_PORT}`,
      // Clients authenticate with SCRAM-SHA-512. The controller and the internal listener are
      // pod-local: only this broker and tools exec'd into its pod reach them.
      listeners: `CLIENT://:${KafkaBroker.CLIENT_PORT},INTERNAL://127.0.0.1:${KAFKA_INTERNAL_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`,
      // A single broker: the client Service name is a stable address for it.
      'advertised.listeners': `CLIENT://${this.bootstrapServers},INTERNAL://127.0.0.1:${KAFKA_INTERNAL_PORT}`,
      'listener.security.protocol.map': 'CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'INTERNAL',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.client.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.client.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'log.dirs': DATA_DIR,
      'num.partitions': 3,
      'auto.create.topics.enable': 'false',
      'offsets.topic.replication.factor': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'group.initial.rebalance.delay.ms': 0,
    });
    const configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { ...metadata, name: `${KafkaBroker.NAME}-config` },
      data: { 'server.properties': serverProperties, 'log4j2.properties': LOG4J2 },
    });
    // Tools log at log4j2's default (errors only); the broker through log4j2.properties.
    const java = (opts: string, main: string) => `java ${opts} -cp '${KAFKA_LIBS}/*' ${main}`;
    // The SCRAM users go into the metadata log when the storage is formatted. Passwords reach the
    // JVM through a java @argfile on the /tmp emptyDir, never through a command line (ps shows those).
    // A missing key or a character SCRAM's syntax would cut at stops the pod with a sentence.
    const scram = Object.entries(KAFKA_USERS).flatMap(([key, user]) => [
      `  pw=$(cat ${CREDENTIALS_DIR}/${key})`,
      `  case "$pw" in '' | *[!A-Za-z0-9]*) echo "kafka-credentials: the password under key ${key} must be letters and digits, and not empty" >&2; exit 1 ;; esac`,
      `  printf '%s\\n' --add-scram "SCRAM-SHA-512=[name=${user},password=$pw]" >>/tmp/format.args`,
    ]);
    const brokerScript = [
      'set -eu',
      `if [ ! -f ${DATA_DIR}/meta.properties ]; then`,
      '  umask 077',
      `  printf '%s\\n' -Xmx128m -cp '${KAFKA_LIBS}/*' kafka.tools.StorageTool format --ignore-formatted --cluster-id "$CLUSTER_ID" --config ${CONFIG_DIR}/server.properties >/tmp/format.args`,
      ...scram,
      // Its report lists the users' SCRAM verifiers: not for the pod log.
      '  java @/tmp/format.args >/dev/null',
      `  echo "formatted ${DATA_DIR} with the SCRAM users ${Object.values(KAFKA_USERS).join(', ')}"`,
      '  rm -f /tmp/format.args',
      '  unset pw',
      'fi',
      // KAFKA_OPTS: extra JVM flags (agents, system properties), as kafka-run-class.sh reads them.
      `exec ${java(`$KAFKA_HEAP_OPTS ${JVM_OPTS} \${KAFKA_OPTS:-} -Dlog4j2.configurationFile=${CONFIG_DIR}/log4j2.properties`, 'kafka.Kafka')} ${CONFIG_DIR}/server.properties`,
    ].join('\n');
    const env: Record<string, string> = {
      CLUSTER_ID: clusterId,
      KAFKA_HEAP_OPTS: `-Xms${heap} -Xmx${heap}`,
    };
    const jmxConfig = jmxExporterConfig();
    const jmxConfigMap = this.metrics ? new k8s.KubeConfigMap(this, 'jmx-exporter', { metadata: { ...metadata, name: `${KafkaBroker.NAME}-jmx-exporter` }, data: { 'config.yaml': jmxConfig } }) : undefined;
    if (this.metrics) env.KAFKA_OPTS = `-javaagent:${JMX_AGENT_PATH}=${JMX_EXPORTER_PORT}:${JMX_CONFIG_DIR}/config.yaml`;
    const configVolume = { name: 'config', configMap: { name: configMap.name } };
    const tmpVolume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };

    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata,
      spec: {
        serviceName: headless,
        replicas: 1,
        podManagementPolicy: 'Parallel',
        selector,
        template: {
          metadata: {
            labels: { ...this.labels.labels },
            // A changed configuration rolls the broker (the ConfigMap alone would not).
            annotations: { 'volwatch.dev/config-sha256': createHash('sha256').update(serverProperties).update(LOG4J2).update(this.metrics ? jmxConfig : '').digest('hex') },
          },
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
                command: ['/bin/sh', '-c', brokerScript],
                ports: [
                  { name: 'client', containerPort: KafkaBroker.CLIENT_PORT, protocol: 'TCP' },
                  ...(this.metrics ? [{ name: this.metricsPortName, containerPort: JMX_EXPORTER_PORT, protocol: 'TCP' }] : []),
                ],
                env: Object.keys(env)
                  .sort()
                  .map((name) => ({ name, value: env[name] })),
                resources: resources('KafkaBroker', res),
                securityContext: restrictedContainerSecurity(KAFKA_UID),
                startupProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 3, failureThreshold: 60 },
                readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('client') }, periodSeconds: 10, failureThreshold: 6 },
                // Writes go to the data volume and /tmp (the JVM's perf data) only.
                volumeMounts: [
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(this.metrics
                    ? [
                        { name: 'jmx-exporter', mountPath: AGENT_DIR, readOnly: true },
                        { name: 'jmx-exporter-config', mountPath: JMX_CONFIG_DIR, readOnly: true },
                      ]
                    : []),
                ],
              },
            ],
            ...(this.metrics
              ? {
                  initContainers: [
                    {
                      name: 'jmx-exporter-agent',
                      image: props.jmxExporterImage!,
                      imagePullPolicy: 'IfNotPresent',
                      // The volume goes elsewhere here: mounted at AGENT_DIR it would hide the jar it copies.
                      command: ['cp', JMX_AGENT_PATH, `${AGENT_COPY_DIR}/`],
                      resources: resources('KafkaBroker jmx-exporter-agent', { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '64Mi' }),
                      securityContext: restrictedContainerSecurity(KAFKA_UID),
                      volumeMounts: [{ name: 'jmx-exporter', mountPath: AGENT_COPY_DIR }],
                    },
                  ],
                }
              : {}),
            volumes: [
              configVolume,
              tmpVolume,
              { name: 'credentials', secret: { secretName: KAFKA_CREDENTIALS_SECRET, defaultMode: 0o440 } },
              ...(jmxConfigMap
                ? [
                    { name: 'jmx-exporter', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
                    { name: 'jmx-exporter-config', configMap: { name: jmxConfigMap.name } },
                  ]
                : []),
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
        // Only the named clients of this namespace (consumer, producer, topic Job) reach the client
        // port; the controller listens on the pod's loopback.
        // The metrics port is for the monitoring namespace's Prometheus only.
        ingress: [
          {
            from: [...clients, TOPICS_JOB].map((name) => ({ podSelector: byName(name) })),
            ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }],
          },
          ...(this.metrics ? [{ from: [{ namespaceSelector: namespaceSelector(props.monitoringNamespace ?? 'monitoring') }], ports: [{ protocol: 'TCP', port: tcp(JMX_EXPORTER_PORT) }] }] : []),
        ],
        // Itself through its advertised Service address (hairpin), and DNS to resolve it.
        egress: [{ to: [{ podSelector: selector }], ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }] }, DNS_EGRESS],
      },
    });

    // A tick producer run in the cluster (docs/deploy.md, "Kafka credentials"): the broker admits
    // its pods by their name label, and this policy lets them out under default-deny, to the
    // broker's client port and DNS only.
    if (clients.includes(KAFKA_USERS.producer)) {
      const producer = componentLabels({ name: KAFKA_USERS.producer, component: 'producer', instance: props.instance, version });
      new k8s.KubeNetworkPolicy(this, 'producer-netpol', {
        metadata: { name: KAFKA_USERS.producer, namespace: ns, labels: { ...producer.labels } },
        spec: {
          podSelector: byName(KAFKA_USERS.producer),
          policyTypes: ['Ingress', 'Egress'],
          egress: [{ to: [{ podSelector: selector }], ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }] }, DNS_EGRESS],
        },
      });
    }

    const topicsLabels = componentLabels({ name: TOPICS_JOB, component: 'topics', instance: props.instance, version });
    const topicsMetadata = { name: TOPICS_JOB, namespace: ns, labels: { ...topicsLabels.labels } };
    // kafka-topics.sh is TopicCommand; called directly, it runs on any image with the jars. It
    // logs in as its own SCRAM user, from a client config written to /tmp (not a command line).
    const script = [
      'set -eu',
      'umask 077',
      `printf '%s\\n' security.protocol=SASL_PLAINTEXT sasl.mechanism=SCRAM-SHA-512 "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\\"${KAFKA_USERS.topics}\\" password=\\"$(cat ${KAFKA_PASSWORD_FILE})\\";" >/tmp/client.properties`,
      `topics() { ${java('-Xmx96m', 'org.apache.kafka.tools.TopicCommand')} --bootstrap-server "$BOOTSTRAP" --command-config /tmp/client.properties "$@"; }`,
      'until topics --list >/dev/null; do echo "waiting for $BOOTSTRAP"; sleep 3; done',
      ...this.topics.map((t) => `topics --create --if-not-exists --topic ${t.name} --partitions ${t.partitions} --replication-factor 1`),
      'topics --describe',
    ].join('\n');
    // Its own identity and policy: no API token, no ingress, egress to the broker and DNS only.
    new k8s.KubeServiceAccount(this, 'topics-sa', { metadata: topicsMetadata, automountServiceAccountToken: false });
    new k8s.KubeNetworkPolicy(this, 'topics-netpol', {
      metadata: topicsMetadata,
      spec: {
        podSelector: { matchLabels: { ...topicsLabels.selector } },
        policyTypes: ['Ingress', 'Egress'],
        egress: [{ to: [{ podSelector: selector }], ports: [{ protocol: 'TCP', port: tcp(KafkaBroker.CLIENT_PORT) }] }, DNS_EGRESS],
      },
    });
    new k8s.KubeJob(this, 'topics', {
      metadata: topicsMetadata,
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 600,
        template: {
          metadata: { labels: { ...topicsLabels.labels } },
          spec: {
            restartPolicy: 'OnFailure',
            serviceAccountName: TOPICS_JOB,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(KAFKA_UID),
            containers: [
              {
                name: 'create-topics',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sh', '-c', script],
                env: [{ name: 'BOOTSTRAP', value: this.bootstrapServers }],
                resources: resources('KafkaBroker topics Job', { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '192Mi', memoryLimit: '256Mi' }),
                securityContext: restrictedContainerSecurity(KAFKA_UID),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'kafka-password', mountPath: path.posix.dirname(KAFKA_PASSWORD_FILE), readOnly: true },
                ],
              },
            ],
            volumes: [configVolume, tmpVolume, kafkaPasswordVolume('topics')],
          },
        },
      },
    });
  }
}
