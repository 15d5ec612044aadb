import type { KafkaMessage } from 'kafkajs';
import { type Tick, tickToWire } from '../../../services/core/ticks';

export const BASE_TICK: Tick = { productId: 'BTC-USD', price: 100, bestBid: 99.99, bestAsk: 100.01, lastSize: 0.5, timeMs: Date.UTC(2026, 0, 1), sequence: 1 };

/** A fetched record as kafkajs hands it to eachBatch. */
export function record(offset: number, value: string | Buffer | null, key = 'BTC-USD'): KafkaMessage {
  return { offset: String(offset), key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: '1', attributes: 0, headers: {} } as KafkaMessage;
}

export const tickRecord = (offset: number, t: Partial<Tick>): KafkaMessage => record(offset, JSON.stringify(tickToWire({ ...BASE_TICK, ...t })), t.productId ?? BASE_TICK.productId);
