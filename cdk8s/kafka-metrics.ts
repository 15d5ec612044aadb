import { stringify } from 'yaml';

/**
 * The broker's own metrics: the Prometheus JMX exporter java agent (Maven Central
 * `io.prometheus.jmx:jmx_prometheus_javaagent`) runs inside the broker JVM, locally
 * (scripts/kafka-local.sh) and in the cluster (cdk8s/kafka-broker.ts), with the
 * configuration rendered below. Only the MBeans listed here are read, and every exported
 * name is one of BROKER_METRICS, so rules and dashboards import these constants.
 */
export const JMX_EXPORTER_VERSION = '1.0.1';
export const JMX_EXPORTER_ARTIFACT = `io.prometheus.jmx:jmx_prometheus_javaagent:${JMX_EXPORTER_VERSION}`;
/** The exporter's HTTP port in the cluster (its documented default). */
export const JMX_EXPORTER_PORT = 9404;
/** Committed rendering of jmxExporterConfig() for the local broker; a test checks it is current. */
export const JMX_EXPORTER_CONFIG_FILE = 'scripts/kafka/jmx-exporter.yaml';

export const BROKER_METRICS = {
  /** Partitions without an active leader (controller view). */
  offlinePartitions: 'kafka_controller_offline_partitions',
  /** 1 on the active controller. */
  activeController: 'kafka_controller_active_controller',
  /** Partitions whose ISR is smaller than the replica set. */
  underReplicatedPartitions: 'kafka_server_under_replicated_partitions',
  /** Partitions this broker hosts. */
  partitions: 'kafka_server_partitions',
  /** {topic, partition}: the offset the next produced message will get. */
  logEndOffset: 'kafka_log_end_offset',
  /** {topic}: messages appended. */
  messagesIn: 'kafka_server_topic_messages_in_total',
  /** {topic}: bytes received from producers and sent to consumers. */
  bytesIn: 'kafka_server_topic_bytes_in_total',
  bytesOut: 'kafka_server_topic_bytes_out_total',
  /** Offset commits the group coordinator accepted (all groups). */
  offsetCommits: 'kafka_group_coordinator_offset_commits_total',
  /** The exporter's JVM collectors (always on). */
  jvmMemoryUsed: 'jvm_memory_used_bytes',
} as const;

interface JmxRule {
  readonly pattern: string;
  readonly name: string;
  readonly type: 'GAUGE' | 'COUNTER';
  readonly help: string;
  readonly labels?: Readonly<Record<string, string>>;
}

const RULES: readonly JmxRule[] = [
  { pattern: 'kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value', name: BROKER_METRICS.offlinePartitions, type: 'GAUGE', help: 'Partitions without an active leader.' },
  { pattern: 'kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value', name: BROKER_METRICS.activeController, type: 'GAUGE', help: '1 on the active controller.' },
  { pattern: 'kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value', name: BROKER_METRICS.underReplicatedPartitions, type: 'GAUGE', help: 'Partitions whose in-sync replicas are fewer than their replicas.' },
  { pattern: 'kafka.server<type=ReplicaManager, name=PartitionCount><>Value', name: BROKER_METRICS.partitions, type: 'GAUGE', help: 'Partitions on this broker.' },
  {
    pattern: 'kafka.log<type=Log, name=LogEndOffset, topic=(.+), partition=(\\d+)><>Value',
    name: BROKER_METRICS.logEndOffset,
    type: 'GAUGE',
    help: 'Offset of the next message appended to the partition.',
    labels: { topic: '$1', partition: '$2' },
  },
  { pattern: 'kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=(.+)><>Count', name: BROKER_METRICS.messagesIn, type: 'COUNTER', help: 'Messages appended, by topic.', labels: { topic: '$1' } },
  { pattern: 'kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=(.+)><>Count', name: BROKER_METRICS.bytesIn, type: 'COUNTER', help: 'Bytes received from producers, by topic.', labels: { topic: '$1' } },
  { pattern: 'kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec, topic=(.+)><>Count', name: BROKER_METRICS.bytesOut, type: 'COUNTER', help: 'Bytes sent to consumers, by topic.', labels: { topic: '$1' } },
  { pattern: 'kafka.server<type=group-coordinator-metrics><>offset-commit-count', name: BROKER_METRICS.offsetCommits, type: 'COUNTER', help: 'Offset commits the group coordinator accepted.' },
];

/** The exporter configuration (YAML) the broker JVM loads. */
export function jmxExporterConfig(): string {
  const config = {
    lowercaseOutputName: false,
    lowercaseOutputLabelNames: false,
    // Read only the MBeans the rules use: a broker has thousands, and reading all of them
    // on every scrape costs CPU and time.
    includeObjectNames: [
      'kafka.controller:type=KafkaController,name=OfflinePartitionsCount',
      'kafka.controller:type=KafkaController,name=ActiveControllerCount',
      'kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions',
      'kafka.server:type=ReplicaManager,name=PartitionCount',
      'kafka.log:type=Log,name=LogEndOffset,*',
      'kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,*',
      'kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,*',
      'kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,*',
      'kafka.server:type=group-coordinator-metrics',
    ],
    rules: RULES.map((r) => ({ pattern: r.pattern, name: r.name, type: r.type, help: r.help, ...(r.labels ? { labels: r.labels } : {}) })),
  };
  return `# Generated by \`npm run generate\` from cdk8s/kafka-metrics.ts. Do not edit.\n${stringify(config, { lineWidth: 0 })}`;
}
