import type { CompressionTypes, Message, Producer } from 'kafkajs';
import { SEND_SLICE } from '../core/kafka';
import type { Logger } from '../core/logger';

export interface TickSenderOptions {
  readonly topic: string;
  /** Most ticks per produce request (at most SEND_SLICE: one request, so a failure never splits a batch). */
  readonly batchSize: number;
  /**
   * Requests in flight while the broker answers; one while it does not. With more than one,
   * a request failing while a later one succeeds reorders them: paced (live) runs use one.
   */
  readonly maxInFlight: number;
  /** Ticks held while the broker is unreachable; beyond it the oldest are dropped (and counted). */
  readonly maxBuffered: number;
  readonly backoffMs: { readonly initial: number; readonly max: number };
  readonly compression?: CompressionTypes;
  readonly logger: Logger;
}

interface Batch {
  /** Send order: a failed batch goes back before every later one. */
  readonly id: number;
  readonly messages: Message[];
}

/**
 * Sends ticks in order and keeps them until Kafka acknowledges them. A failed
 * request goes back to the front of the queue and is retried with exponential
 * backoff for as long as the producer runs, so a broker outage costs nothing as
 * long as the buffer holds; what it cannot hold is dropped oldest first and
 * counted, and what is still unsent at the end is reported.
 */
export class TickSender {
  private queue: Message[] = [];
  private head = 0;
  /** Failed batches, oldest first; sent before the queue. */
  private readonly retry: Batch[] = [];
  private nextId = 0;
  private bufferedCount = 0;
  private inFlight = 0;
  private failing = false;
  private backoff = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  sent = 0;
  dropped = 0;
  failures = 0;

  constructor(
    private readonly producer: Producer,
    private readonly opts: TickSenderOptions,
  ) {}

  /** Ticks not yet acknowledged (queued, waiting for a retry, or in flight). */
  get buffered(): number {
    return this.bufferedCount;
  }

  /** True while requests fail. */
  get outage(): boolean {
    return this.failing;
  }

  enqueue(messages: readonly Message[]): void {
    for (const m of messages) this.queue.push(m);
    this.bufferedCount += messages.length;
    this.dropOverflow();
    this.pump();
  }

  /** Resolves when another request could go out now: backpressure for sources that can wait. */
  async ready(): Promise<void> {
    while (this.inFlight >= this.limit() || this.retryTimer !== undefined) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Waits until every buffered tick is acknowledged, or the time is up; returns how many are left. */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.bufferedCount > 0 && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(200, Math.max(1, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.bufferedCount;
  }

  private limit(): number {
    return this.failing ? 1 : this.opts.maxInFlight;
  }

  private queued(): number {
    return this.queue.length - this.head;
  }

  private dropOverflow(): void {
    let over = this.bufferedCount - this.opts.maxBuffered;
    while (over > 0 && this.retry.length > 0) {
      const b = this.retry.shift()!;
      over -= b.messages.length;
      this.bufferedCount -= b.messages.length;
      this.dropped += b.messages.length;
    }
    if (over > 0) {
      const n = Math.min(over, this.queued());
      this.head += n;
      this.bufferedCount -= n;
      this.dropped += n;
    }
    if (this.head > 65_536 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private take(): Batch | undefined {
    if (this.retry.length > 0) return this.retry.shift();
    const n = Math.min(this.opts.batchSize, SEND_SLICE, this.queued());
    if (n === 0) return undefined;
    const messages = this.queue.slice(this.head, this.head + n);
    this.head += n;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return { id: this.nextId++, messages };
  }

  private pump(): void {
    while (this.retryTimer === undefined && this.inFlight < this.limit()) {
      const batch = this.take();
      if (!batch) return;
      this.inFlight++;
      this.producer.send({ topic: this.opts.topic, messages: batch.messages, acks: -1, compression: this.opts.compression }).then(
        () => this.settled(batch, undefined),
        (err: Error) => this.settled(batch, err),
      );
    }
  }

  private settled(batch: Batch, err: Error | undefined): void {
    this.inFlight--;
    if (err === undefined) {
      this.sent += batch.messages.length;
      this.bufferedCount -= batch.messages.length;
      if (this.failing) this.opts.logger.info({ failures: this.failures, buffered: this.bufferedCount, dropped: this.dropped }, 'Kafka accepts ticks again');
      this.failing = false;
      this.backoff = 0;
    } else {
      let i = 0;
      while (i < this.retry.length && this.retry[i]!.id < batch.id) i++;
      this.retry.splice(i, 0, batch);
      this.failures++;
      this.backoff = this.backoff === 0 ? this.opts.backoffMs.initial : Math.min(this.opts.backoffMs.max, this.backoff * 2);
      if (!this.failing) this.opts.logger.warn({ err, buffered: this.bufferedCount }, 'sending ticks failed; keeping them and retrying with backoff');
      this.failing = true;
      if (this.retryTimer === undefined) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
          for (const w of this.waiters.splice(0)) w();
        }, this.backoff);
      }
    }
    this.pump();
    for (const w of this.waiters.splice(0)) w();
  }
}
