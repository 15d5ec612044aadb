import type { Server } from 'node:http';
import { type Admin, type Consumer as KafkaConsumer, type Producer, PartitionAssigners } from 'kafkajs';
import type { DriftMonitor } from '../core/drift/monitor';
import { WINDOW_MS } from '../core/features';
import { closeServer, listen } from '../core/http';
import { MemoKeyPartitioner, createKafka } from '../core/kafka';
import type { Logger } from '../core/logger';
import { tryReadMetadata } from '../core/model/artifacts';
import type { ModelManager } from '../core/model/manager';
import { type ModelServing, createModelDrift, startModelServing } from '../core/model/serving';
import { stickyAssigner } from './assigner';
import { createBatchHandler } from './batch-handler';
import type { ConsumerConfig } from './config';
import { ConsumerHealth } from './health';
import { LagTracker } from './lag';
import { type ConsumerMetrics, createConsumerMetrics } from './metrics';
import { PartitionTracker } from './partitions';
import { ProductStates } from './product-state';
import { Restorer } from './restore';
import { createStatusServer, createVersionServer } from './status-server';
import { StreamFeatures } from './stream-features';

export interface Consumer {
  /** Serves metrics, loads the model, connects and joins the group. Resolves with the bound metrics port. */
  /** Resolves with the bound ports (versionPort only when VERSION_PORT is set). */
  start(): Promise<{ metricsPort: number; versionPort?: number }>;
  /** Stops fetching, lets the batch in hand finish and commit, disconnects within the shutdown budget. */
  stop(): Promise<void>;
  /** Rejects when kafkajs crashed and will not restart (MAX_CRASH_RESTARTS exceeded or a fatal error). */
  readonly fatal: Promise<never>;
  readonly metrics: ConsumerMetrics;
}

export interface ConsumerDeps {
  readonly logger: Logger;
}

/** Slack beyond the window and the out-of-order tolerance, so the reference tick before the window is replayed too. */
const RESTORE_SLACK_MS = 5000;

/**
 * The stream consumer: wires the parts together and owns the lifecycle.
 * Features and their restore live in StreamFeatures/Restorer, the batch loop in
 * createBatchHandler, lag in LagTracker, probes in ConsumerHealth.
 */
export function createConsumer(config: ConsumerConfig, deps: ConsumerDeps): Consumer {
  const { logger } = deps;
  const metrics = createConsumerMetrics(config.groupId);
  const kafka = createKafka(config, logger);
  const partitions = new PartitionTracker();
  const health = new ConsumerHealth({ sessionTimeoutMs: config.sessionTimeoutMs, brokerTimeoutMs: config.brokerTimeoutMs, restoring: () => partitions.restoring, owned: () => partitions.owned().length });
  const states = new ProductStates({ maxProducts: config.maxProducts, idleEvictMs: config.productIdleEvictMs, onEvict: (reason, n) => metrics.evicted(reason, n) });
  let serving: ModelServing | undefined;
  let manager: ModelManager | undefined;
  let drift: DriftMonitor | undefined;
  let consumer: KafkaConsumer | undefined;
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let consecutiveCrashes = 0;

  let rejectFatal: (err: Error) => void = () => undefined;
  const fatal = new Promise<never>((_, reject) => {
    rejectFatal = reject;
  });
  fatal.catch(() => undefined); // observed by main; never an unhandled rejection here

  metrics.connectedProbe(() => health.isConnected());
  metrics.readyProbe(() => health.isReady());
  metrics.trackedProductsProbe(() => states.size);
  const lag = new LagTracker({ topic: config.ticksTopic, groupId: config.groupId, metrics, admin: () => admin, onBrokerContact: () => health.contact() });
  const features = new StreamFeatures({ states, maxOutOfOrderMs: config.maxOutOfOrderMs, observe: (row) => drift?.observe(row), onSequenceAnomaly: (kind) => metrics.sequenceAnomaly(kind) });
  const restorer = new Restorer({
    topic: config.ticksTopic,
    admin: () => admin!,
    seek: (partition, offset) => consumer!.seek({ topic: config.ticksTopic, partition, offset: String(offset) }),
    features,
    states,
    lookbackMs: WINDOW_MS + config.maxOutOfOrderMs + RESTORE_SLACK_MS,
    onRestored: (_p, seconds, replayed) => {
      metrics.restored(seconds, replayed);
      metrics.restoringPartitions(partitions.restoring);
    },
    logger,
  });
  const eachBatch = createBatchHandler({
    predictionsTopic: config.predictionsTopic,
    deadLetterTopic: config.deadLetterTopic,
    maxBatchRows: config.maxBatchRows,
    deadLetterLimits: { maxValueBytes: config.deadLetterMaxValueBytes, maxBatchBytes: config.deadLetterBatchBytes },
    partitions,
    features,
    restorer,
    lag,
    metrics,
    manager: () => manager!,
    producer: () => producer!,
    onProgress: () => health.progress(),
    onCommitted: () => {
      consecutiveCrashes = 0;
    },
    logger,
  });
  const statusServer: Server = createStatusServer({ registry: metrics.registry, health, manager: () => manager, partitions: () => partitions.owned(), sessionTimeoutMs: config.sessionTimeoutMs, logger });
  const versionServer: Server | undefined = config.versionPort === undefined ? undefined : createVersionServer(() => manager);

  function onJoin(assigned: number[], memberId: string): void {
    metrics.rebalanced();
    for (const p of partitions.assign(assigned)) states.dropPartition(p);
    lag.assign(assigned);
    metrics.restoringPartitions(partitions.restoring);
    logger.info({ partitions: partitions.owned(), memberId }, 'joined consumer group');
    void lag.refresh().catch(() => metrics.error('lag_refresh_failed'));
  }

  function onCrash(error: Error, restart: boolean): void {
    metrics.crashed();
    metrics.error('crash');
    if (restart) {
      logger.error({ err: error, consecutiveCrashes }, 'consumer crashed; kafkajs restarts it');
    } else if (!stopping) {
      logger.fatal({ err: error, consecutiveCrashes, maxCrashRestarts: config.maxCrashRestarts }, 'consumer crashed and will not restart');
      rejectFatal(error);
    }
  }

  function tick(): void {
    states.evictIdle(Date.now());
    lag.refresh().catch((err: unknown) => {
      metrics.error('lag_refresh_failed');
      logger.debug({ err }, 'offset lag refresh failed');
    });
  }

  function createKafkaConsumer(): KafkaConsumer {
    const c = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      maxBytesPerPartition: config.maxBytesPerPartition,
      maxWaitTimeInMs: config.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      partitionAssigners: [stickyAssigner(() => ({ [config.ticksTopic]: partitions.owned() })), PartitionAssigners.roundRobin],
      retry: {
        // Counted per run of crashes without progress in between; a committed chunk resets the count.
        restartOnFailure: async (err) => {
          consecutiveCrashes++;
          const restart = !stopping && consecutiveCrashes <= config.maxCrashRestarts;
          logger.warn({ err, consecutiveCrashes, restart }, 'consumer failure');
          return restart;
        },
      },
    });
    health.follow(c, config.ticksTopic, onJoin, onCrash);
    return c;
  }

  async function shutdown(): Promise<void> {
    stopping = true;
    health.stop();
    if (timer) clearInterval(timer);
    drift?.stop();
    const steps = async (): Promise<void> => {
      // Disconnecting the consumer stops fetching, waits for the batch in hand (which stops
      // between chunks, each committed as it completes) and leaves the group.
      await consumer?.disconnect();
      await Promise.allSettled([producer?.disconnect(), admin?.disconnect()]);
    };
    const inTime = await Promise.race([steps().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), config.shutdownTimeoutMs).unref())]);
    if (!inTime) logger.warn({ budgetMs: config.shutdownTimeoutMs }, 'shutdown budget exceeded; closing anyway');
    for (const server of [statusServer, versionServer]) server?.closeAllConnections();
    await Promise.all([closeServer(statusServer), versionServer && closeServer(versionServer)]);
    await serving?.close();
    logger.info('consumer stopped');
  }

  return {
    metrics,
    fatal,
    async start() {
      const metricsPort = await listen(statusServer, config.metricsPort, config.host);
      const versionPort = versionServer && (await listen(versionServer, config.versionPort!, config.host));
      serving = await startModelServing(config, logger, metrics);
      manager = serving.manager;
      health.modelReady();
      if (config.driftEnabled) {
        drift = createModelDrift({ referenceProfile: tryReadMetadata(config.modelDir)?.referenceProfile, registry: metrics.registry, prefix: 'volwatch_consumer_', config, logger });
        drift.start();
      }
      producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: MemoKeyPartitioner, retry: { retries: 5 } });
      // Lag refresh and restore lookups are short and repeat anyway: no long retry chains that outlive a shutdown.
      admin = kafka.admin({ retry: { retries: 2 } });
      consumer = createKafkaConsumer();
      await Promise.all([producer.connect(), admin.connect()]);
      await consumer.connect();
      await consumer.subscribe({ topics: [config.ticksTopic], fromBeginning: true });
      // Offsets are committed by hand, once a chunk's predictions and dead letters are acknowledged,
      // and never during a restore: with autoCommit on, kafkajs would commit a seek.
      await consumer.run({ eachBatchAutoResolve: false, autoCommit: false, partitionsConsumedConcurrently: config.partitionsConsumedConcurrently, eachBatch });
      timer = setInterval(tick, config.lagRefreshMs);
      timer.unref();
      logger.info({ metricsPort, versionPort, brokers: config.brokers, groupId: config.groupId, topic: config.ticksTopic, model: manager.current().name, variant: manager.current().variant }, 'consumer started');
      return { metricsPort, ...(versionPort === undefined ? {} : { versionPort }) };
    },
    stop() {
      stopped ??= shutdown();
      return stopped;
    },
  };
}
