import { createServer } from 'node:http';
import { type Admin, type Consumer as KafkaConsumer, type EachBatchPayload, Kafka, type LogEntry, type Message, Partitioners, type Producer, logLevel } from 'kafkajs';
import type { DriftMonitor } from '../core/drift/monitor';
import { closeServer, listen, sendMetrics } from '../core/http';
import type { Logger } from '../core/logger';
import { tryReadMetadata } from '../core/model/artifacts';
import type { ModelManager } from '../core/model/manager';
import { variantLabel } from '../core/model/model';
import { type ModelServing, createModelDrift, startModelServing } from '../core/model/serving';
import { appVersion } from '../core/version';
import { sendAll } from '../producer/send';
import type { ConsumerConfig } from './config';
import { type ConsumerMetrics, createConsumerMetrics } from './metrics';
import { FeatureState, type Prediction, deadLetterMessage } from './pipeline';

export interface Consumer {
  /** Serves metrics, loads the model, connects and joins the group. Resolves with the bound metrics port. */
  start(): Promise<{ metricsPort: number }>;
  /** Stops fetching, lets the batch in hand finish and commit, disconnects within the shutdown budget. */
  stop(): Promise<void>;
  /** Rejects when kafkajs crashed and will not restart (MAX_CRASH_RESTARTS exceeded or a fatal error). */
  readonly fatal: Promise<never>;
  readonly metrics: ConsumerMetrics;
}

export interface ConsumerDeps {
  readonly logger: Logger;
}

/** A produce or inference failure: thrown out of eachBatch so kafkajs retries from the last resolved offset. */
export class BatchFailedError extends Error {
  override readonly name = 'BatchFailedError';
}

function kafkaLogger(logger: Logger) {
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };
  return () =>
    ({ level, log, namespace }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      logger[levels[level] ?? 'info']({ kafkajs: namespace, ...rest }, message);
    };
}

interface PartitionLag {
  /** Log end offset last seen. */
  high: number;
  /** Next offset to process, as resolved by this process since the last assignment (-1: unknown). */
  next: number;
}

export function createConsumer(config: ConsumerConfig, deps: ConsumerDeps): Consumer {
  const { logger } = deps;
  const metrics = createConsumerMetrics(config.groupId);
  const version = appVersion();
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: logLevel.WARN,
    logCreator: kafkaLogger(logger.child({ component: 'kafkajs' })),
  });

  let serving: ModelServing | undefined;
  let manager: ModelManager | undefined;
  let drift: DriftMonitor | undefined;
  let consumer: KafkaConsumer | undefined;
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  let connected = false;
  let joined = false;
  let dead = false;
  let lastBrokerContactMs = 0;
  let lastAliveMs = Date.now();
  let consecutiveCrashes = 0;
  const assignment = new Map<number, PartitionLag>();

  let rejectFatal: (err: Error) => void = () => undefined;
  const fatal = new Promise<never>((_, reject) => {
    rejectFatal = reject;
  });
  fatal.catch(() => undefined); // observed by main; never an unhandled rejection here

  const alive = (): void => {
    lastAliveMs = Date.now();
    lastBrokerContactMs = lastAliveMs;
  };
  const isReady = (): boolean => joined && manager !== undefined && !stopping && !dead;
  const setReady = (): void => metrics.ready(isReady());
  /** Stuck: kafkajs gave up, or we hold partitions but neither fetched nor heartbeated within a session timeout. */
  const isLive = (): boolean => !dead && !(joined && assignment.size > 0 && Date.now() - lastAliveMs > config.sessionTimeoutMs);

  metrics.connectedProbe(() => connected && Date.now() - lastBrokerContactMs <= Math.max(10_000, 3 * config.heartbeatIntervalMs));

  const features = new FeatureState(config.maxOutOfOrderMs, (row) => drift?.observe(row));

  const setLag = (partition: number, p: PartitionLag): void => {
    if (p.next < 0) return;
    metrics.offsetLag(config.ticksTopic, partition, Math.max(0, p.high - p.next));
  };

  async function refreshLag(): Promise<void> {
    if (!admin || assignment.size === 0) return;
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(config.ticksTopic),
      admin.fetchOffsets({ groupId: config.groupId, topics: [config.ticksTopic] }),
    ]);
    const committedBy = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const end of ends) {
      const p = assignment.get(end.partition);
      if (!p) continue;
      const c = committedBy.get(end.partition) ?? -1;
      // No committed offset yet: everything retained is still to be processed.
      const fromBroker = c >= 0 ? c : Number(end.low);
      p.high = Math.max(p.high, Number(end.high));
      p.next = Math.max(p.next, fromBroker);
      setLag(end.partition, p);
    }
  }

  async function produceChunk(topic: string, partition: number, payload: EachBatchPayload, start: number, end: number): Promise<void> {
    const chunk = features.prepare(payload.batch.messages, start, end);
    const model = manager!.current();
    const variant = variantLabel(model.variant);
    const sends: Promise<unknown>[] = [];
    let predictions: Message[] = [];
    if (chunk.rows > 0) {
      const t0 = process.hrtime.bigint();
      let probs: Float32Array | Float64Array;
      try {
        probs = await model.predict(chunk.input, chunk.rows);
      } catch (err) {
        metrics.error('inference_failed');
        throw new BatchFailedError(`inference failed for ${chunk.rows} rows: ${(err as Error).message}`, { cause: err });
      }
      metrics.predicted(variant, chunk.rows, Number(process.hrtime.bigint() - t0) / 1e9);
      const processedTime = new Date().toISOString();
      const modelInfo = { name: model.name, version: model.version, variant };
      predictions = new Array<Message>(chunk.rows);
      for (let i = 0; i < chunk.rows; i++) {
        const tick = chunk.ticks[i]!;
        const p = probs[i]!;
        const value: Prediction = {
          product_id: tick.productId,
          sequence: tick.sequence,
          event_time: new Date(tick.timeMs).toISOString(),
          processed_time: processedTime,
          probability: p,
          label: p >= model.decisionThreshold ? 1 : 0,
          model: modelInfo,
          source: { topic, partition, offset: chunk.offsets[i]! },
        };
        predictions[i] = { key: tick.productId, value: JSON.stringify(value) };
      }
      sends.push(
        sendAll(producer!, config.predictionsTopic, predictions).catch((err: Error) => {
          metrics.error('produce_failed');
          throw new BatchFailedError(`producing ${chunk.rows} predictions to ${config.predictionsTopic} failed: ${err.message}`, { cause: err });
        }),
      );
    }
    if (chunk.deadLetters.length > 0) {
      const now = new Date();
      const records = chunk.deadLetters.map((d) => deadLetterMessage(topic, partition, d, now));
      sends.push(
        sendAll(producer!, config.deadLetterTopic, records).then(
          () => {
            for (const d of chunk.deadLetters) {
              metrics.deadLettered(d.reason);
              metrics.error(d.reason);
            }
          },
          (err: Error) => {
            metrics.error('dead_letter_failed');
            logger.error({ err, topic: config.deadLetterTopic, count: records.length }, 'dead-letter publish failed; the offsets stay uncommitted and the batch will be retried');
            throw new BatchFailedError(`publishing ${records.length} dead letters to ${config.deadLetterTopic} failed: ${err.message}`, { cause: err });
          },
        ),
      );
    }
    // Both must be acknowledged before any offset of the chunk is resolved.
    const results = await Promise.allSettled(sends);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const now = Date.now();
    for (let i = 0; i < chunk.rows; i++) metrics.eventLag((now - chunk.ticks[i]!.timeMs) / 1000);
    if (chunk.rows > 0) metrics.lastEventLag((now - chunk.ticks[chunk.rows - 1]!.timeMs) / 1000);
    for (let i = 0; i < chunk.duplicates; i++) metrics.duplicate();

    const lastOffset = payload.batch.messages[end - 1]!.offset;
    payload.resolveOffset(lastOffset);
    await payload.commitOffsetsIfNecessary();
    metrics.processed(end - start);
    metrics.lastProcessed(Date.now() / 1000);
    consecutiveCrashes = 0;
    alive();
    const lag = assignment.get(partition);
    if (lag) {
      lag.next = Number(lastOffset) + 1;
      setLag(partition, lag);
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const started = process.hrtime.bigint();
    const messages = batch.messages;
    metrics.consumed(messages.length);
    alive();
    const lag = assignment.get(batch.partition);
    if (lag && messages.length > 0) {
      lag.high = Number(batch.highWatermark);
      lag.next = Number(messages[0]!.offset);
      setLag(batch.partition, lag);
    }
    for (let start = 0; start < messages.length; start += config.maxBatchRows) {
      // Stopping or a seek/rebalance: leave the rest unresolved; it is fetched again.
      if (!payload.isRunning() || payload.isStale()) break;
      const end = Math.min(messages.length, start + config.maxBatchRows);
      await produceChunk(batch.topic, batch.partition, payload, start, end);
      await payload.heartbeat();
    }
    metrics.batch(Number(process.hrtime.bigint() - started) / 1e9, messages.length);
  }

  function instrument(c: KafkaConsumer): void {
    const { CONNECT, DISCONNECT, CRASH, GROUP_JOIN, HEARTBEAT, FETCH, STOP } = c.events;
    c.on(CONNECT, () => {
      connected = true;
      alive();
    });
    c.on(DISCONNECT, () => {
      connected = false;
      joined = false;
      setReady();
    });
    c.on(STOP, () => {
      joined = false;
      setReady();
    });
    c.on(HEARTBEAT, alive);
    c.on(FETCH, alive);
    c.on(GROUP_JOIN, (e) => {
      joined = true;
      connected = true;
      alive();
      metrics.rebalanced();
      const mine = new Set(e.payload.memberAssignment[config.ticksTopic] ?? []);
      for (const partition of [...assignment.keys()]) {
        if (!mine.has(partition)) {
          assignment.delete(partition);
          metrics.removeOffsetLag(config.ticksTopic, partition);
        }
      }
      // The committed offsets are the truth after a rebalance; local progress restarts from them.
      for (const partition of mine) assignment.set(partition, { high: assignment.get(partition)?.high ?? 0, next: -1 });
      metrics.assignedPartitions(mine.size);
      logger.info({ partitions: [...mine].sort((a, b) => a - b), memberId: e.payload.memberId, durationMs: e.payload.duration }, 'joined consumer group');
      setReady();
      void refreshLag().catch(() => metrics.error('lag_refresh_failed'));
    });
    c.on(CRASH, (e) => {
      joined = false;
      connected = false;
      metrics.crashed();
      metrics.error('crash');
      setReady();
      const { error, restart } = e.payload;
      if (restart) {
        logger.error({ err: error, consecutiveCrashes }, 'consumer crashed; kafkajs restarts it');
      } else if (!stopping) {
        dead = true;
        setReady();
        logger.fatal({ err: error, consecutiveCrashes, maxCrashRestarts: config.maxCrashRestarts }, 'consumer crashed and will not restart');
        rejectFatal(error);
      }
    });
  }

  const metricsServer = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'application/json' }).end('{"error":{"type":"method_not_allowed"}}');
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    switch (path) {
      case '/metrics':
        return sendMetrics(metrics.registry, res, logger);
      case '/health': {
        const live = isLive();
        json(live ? 200 : 503, { status: live ? 'ok' : 'stuck', crashed: dead, joined, msSinceProgress: Date.now() - lastAliveMs, sessionTimeoutMs: config.sessionTimeoutMs });
        return;
      }
      case '/ready': {
        const m = manager?.current();
        json(isReady() ? 200 : 503, { ready: isReady(), joined, stopping, model: m ? { name: m.name, version: m.version, variant: variantLabel(m.variant) } : null, partitions: [...assignment.keys()].sort((a, b) => a - b) });
        return;
      }
      case '/version': {
        const m = manager?.current();
        json(200, {
          app: { name: 'volwatch-consumer', version: version.version, gitRevision: version.gitRevision },
          model: m ? { name: m.name, version: m.version, variant: variantLabel(m.variant), requestedVariant: manager!.desiredVariant, fallback: manager!.inFallback } : null,
        });
        return;
      }
      default:
        json(404, { error: { type: 'not_found', message: 'try /metrics, /health, /ready or /version' } });
    }
  });

  async function shutdown(): Promise<void> {
    stopping = true;
    setReady();
    if (lagTimer) clearInterval(lagTimer);
    drift?.stop();
    const steps = async (): Promise<void> => {
      // Disconnecting the consumer stops fetching, waits for the batch in hand (which stops
      // between chunks) and leaves the group; resolved offsets are committed on the way out.
      await consumer?.disconnect();
      await Promise.allSettled([producer?.disconnect(), admin?.disconnect()]);
    };
    const inTime = await Promise.race([steps().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), config.shutdownTimeoutMs).unref())]);
    if (!inTime) logger.warn({ budgetMs: config.shutdownTimeoutMs }, 'shutdown budget exceeded; closing anyway');
    metricsServer.closeAllConnections();
    await closeServer(metricsServer);
    await serving?.close();
    logger.info('consumer stopped');
  }

  return {
    metrics,
    fatal,
    async start() {
      const metricsPort = await listen(metricsServer, config.metricsPort, config.host);
      serving = await startModelServing(config, logger, metrics);
      manager = serving.manager;
      if (config.driftEnabled) {
        drift = createModelDrift({ referenceProfile: tryReadMetadata(config.modelDir)?.referenceProfile, registry: metrics.registry, prefix: 'volwatch_consumer_', windowSize: config.driftWindowSize, windowMaxAgeMs: config.driftWindowMaxAgeMs, logger });
        drift.start();
      }

      producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 5 } });
      // Lag refresh is best effort and repeats anyway: no long retry chains that outlive a shutdown.
      admin = kafka.admin({ retry: { retries: 1 } });
      consumer = kafka.consumer({
        groupId: config.groupId,
        sessionTimeout: config.sessionTimeoutMs,
        heartbeatInterval: config.heartbeatIntervalMs,
        maxBytesPerPartition: config.maxBytesPerPartition,
        maxWaitTimeInMs: config.maxWaitTimeMs,
        allowAutoTopicCreation: false,
        retry: {
          // Counted per run of crashes without progress in between; a healthy batch resets the count.
          restartOnFailure: async (err) => {
            consecutiveCrashes++;
            const restart = !stopping && consecutiveCrashes <= config.maxCrashRestarts;
            logger.warn({ err, consecutiveCrashes, restart }, 'consumer failure');
            return restart;
          },
        },
      });
      instrument(consumer);
      await Promise.all([producer.connect(), admin.connect()]);
      await consumer.connect();
      await consumer.subscribe({ topics: [config.ticksTopic], fromBeginning: true });
      await consumer.run({
        // Offsets are resolved by hand after the predictions are acknowledged; with the threshold
        // at 1, commitOffsetsIfNecessary() commits them right away.
        eachBatchAutoResolve: false,
        autoCommit: true,
        autoCommitThreshold: 1,
        partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
        eachBatch,
      });
      lagTimer = setInterval(() => {
        refreshLag().catch((err: unknown) => {
          metrics.error('lag_refresh_failed');
          logger.debug({ err }, 'offset lag refresh failed');
        });
      }, config.lagRefreshMs);
      lagTimer.unref();
      logger.info({ metricsPort, brokers: config.brokers, groupId: config.groupId, topic: config.ticksTopic, model: manager.current().name, variant: manager.current().variant }, 'consumer started');
      return { metricsPort };
    },
    stop() {
      stopped ??= shutdown();
      return stopped;
    },
  };
}
