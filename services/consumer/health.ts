import type { Consumer as KafkaConsumer } from 'kafkajs';

export interface HealthOptions {
  readonly sessionTimeoutMs: number;
  /** Without a successful exchange with the broker for this long, the member is disconnected and not ready. */
  readonly brokerTimeoutMs: number;
  /** Partitions being restored right now. */
  readonly restoring: () => number;
  /** Partitions owned right now. */
  readonly owned: () => number;
  readonly now?: () => number;
}

export interface HealthSnapshot {
  readonly live: boolean;
  readonly ready: boolean;
  readonly connected: boolean;
  readonly joined: boolean;
  readonly rebalancing: boolean;
  readonly restoring: number;
  readonly crashed: boolean;
  readonly stopping: boolean;
  readonly msSinceProgress: number;
  readonly msSinceBrokerContact: number;
}

/**
 * Liveness and readiness of the consumer, from kafkajs's events and the
 * pipeline's progress. Live unless kafkajs gave up, or the member holds
 * partitions and has neither fetched nor heartbeated within a session timeout.
 * Ready only while it is in the group (not mid-rebalance), has heard from the
 * broker within the broker timeout, has a model, restores nothing and is not stopping.
 */
export class ConsumerHealth {
  private joined = false;
  private rebalancing = false;
  private dead = false;
  private stopping = false;
  private modelLoaded = false;
  private lastContactMs = 0;
  private lastProgressMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: HealthOptions) {
    this.now = opts.now ?? Date.now;
    this.lastProgressMs = this.now();
  }

  /** Any successful exchange with the broker (fetch, heartbeat, produce, admin call). */
  contact(): void {
    this.lastContactMs = this.now();
  }

  /** The pipeline moved (a batch fetched or committed). */
  progress(): void {
    this.lastProgressMs = this.now();
    this.lastContactMs = this.lastProgressMs;
  }

  modelReady(): void {
    this.modelLoaded = true;
  }

  stop(): void {
    this.stopping = true;
  }

  crashed(willRestart: boolean): void {
    this.joined = false;
    this.lastContactMs = 0;
    if (!willRestart) this.dead = true;
  }

  isConnected(): boolean {
    return this.lastContactMs > 0 && this.now() - this.lastContactMs <= this.opts.brokerTimeoutMs;
  }

  isLive(): boolean {
    return !this.dead && !(this.joined && this.opts.owned() > 0 && this.now() - this.lastProgressMs > this.opts.sessionTimeoutMs);
  }

  isReady(): boolean {
    return this.joined && !this.rebalancing && this.modelLoaded && !this.stopping && !this.dead && this.isConnected() && this.opts.restoring() === 0;
  }

  snapshot(): HealthSnapshot {
    const now = this.now();
    return {
      live: this.isLive(),
      ready: this.isReady(),
      connected: this.isConnected(),
      joined: this.joined,
      rebalancing: this.rebalancing,
      restoring: this.opts.restoring(),
      crashed: this.dead,
      stopping: this.stopping,
      msSinceProgress: now - this.lastProgressMs,
      msSinceBrokerContact: this.lastContactMs > 0 ? now - this.lastContactMs : -1,
    };
  }

  /** Follows the consumer's lifecycle events; `onJoin` gets each new assignment of the topic. */
  follow(consumer: KafkaConsumer, topic: string, onJoin: (partitions: number[], memberId: string) => void, onCrash: (error: Error, restart: boolean) => void): void {
    const { CONNECT, DISCONNECT, CRASH, GROUP_JOIN, HEARTBEAT, FETCH, STOP, REBALANCING } = consumer.events;
    const contact = (): void => this.contact();
    consumer.on(CONNECT, contact);
    consumer.on(HEARTBEAT, contact);
    consumer.on(FETCH, () => this.progress());
    consumer.on(DISCONNECT, () => {
      this.joined = false;
    });
    consumer.on(STOP, () => {
      this.joined = false;
    });
    consumer.on(REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.rebalancing = false;
      this.contact();
      onJoin([...(e.payload.memberAssignment[topic] ?? [])], e.payload.memberId);
    });
    consumer.on(CRASH, (e) => {
      this.crashed(e.payload.restart);
      onCrash(e.payload.error, e.payload.restart);
    });
  }
}
