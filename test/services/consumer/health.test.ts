import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { ConsumerHealth } from '../../../services/consumer/health';

function fakeClock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Just enough of a kafkajs consumer to emit its instrumentation events. */
function emitter() {
  const e = new EventEmitter();
  const events = { CONNECT: 'c', DISCONNECT: 'd', CRASH: 'x', GROUP_JOIN: 'j', HEARTBEAT: 'h', FETCH: 'f', STOP: 's', REBALANCING: 'r' };
  return { consumer: Object.assign(e, { events }) as unknown as Consumer, emit: (name: keyof typeof events, payload: unknown = {}) => e.emit(events[name], { payload }) };
}

function setup(restoring = 0) {
  const clock = fakeClock();
  let r = restoring;
  const h = new ConsumerHealth({ sessionTimeoutMs: 10_000, brokerTimeoutMs: 5000, restoring: () => r, owned: () => 3, now: clock.now });
  const k = emitter();
  const joins: number[][] = [];
  h.follow(k.consumer, 'ticks', (p) => joins.push(p), () => undefined);
  h.modelReady();
  k.emit('GROUP_JOIN', { memberAssignment: { ticks: [0, 2] }, memberId: 'm' });
  return { h, clock, k, joins, setRestoring: (n: number) => (r = n) };
}

test('ready after joining with a model; the assignment of the topic is handed on', () => {
  const { h, joins } = setup();
  expect(h.isReady()).toBe(true);
  expect(joins).toEqual([[0, 2]]);
});

test('without any word from the broker for longer than the broker timeout: disconnected and not ready, until it speaks again', () => {
  const { h, clock, k } = setup();
  clock.advance(4000);
  expect(h.isConnected()).toBe(true);
  clock.advance(1500);
  expect(h.isConnected()).toBe(false);
  expect(h.isReady()).toBe(false);
  k.emit('HEARTBEAT');
  expect(h.isReady()).toBe(true);
});

test('not ready while rebalancing or restoring', () => {
  const { h, k, setRestoring } = setup();
  k.emit('REBALANCING');
  expect(h.isReady()).toBe(false);
  k.emit('GROUP_JOIN', { memberAssignment: { ticks: [1] }, memberId: 'm' });
  expect(h.isReady()).toBe(true);
  setRestoring(1);
  expect(h.isReady()).toBe(false);
  expect(h.snapshot().restoring).toBe(1);
});

test('not live when partitions are held without progress for a session timeout, or once kafkajs gives up', () => {
  const { h, clock, k } = setup();
  clock.advance(10_001);
  expect(h.isLive()).toBe(false);
  k.emit('FETCH');
  expect(h.isLive()).toBe(true);
  k.emit('CRASH', { error: new Error('x'), restart: false });
  expect(h.isLive()).toBe(false);
  expect(h.isReady()).toBe(false);
});
