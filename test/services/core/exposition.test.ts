import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { createApiMetrics } from '../../../services/api/metrics';
import { createConsumerMetrics } from '../../../services/consumer/metrics';
import { renderMetrics } from '../../../services/core/exposition';

// The services serve renderMetrics; prom-client's registry.metrics() is the reference text.
// Runtime figures (CPU, memory, event loop) move between two renders, so their values are masked.
const RUNTIME = /^((?:process|nodejs)_\S+) \S+$/gm;
const mask = (text: string) => text.replace(RUNTIME, '$1 <value>');

test('renders exactly what prom-client renders: escaping, shared histogram labels, special values, summaries', async () => {
  const r = new Registry();
  const h = new Histogram({ name: 'h_seconds', help: 'back\\slash and\nnewline', labelNames: ['a', 'b'] as const, buckets: [0.1, 1, 10], registers: [r] });
  h.observe({ a: 'quote " back\\ new\nline', b: 2 }, 0.5);
  h.observe({ a: 'plain' }, 30);
  h.observe({}, 0.01);
  new Counter({ name: 'c_total', help: 'c', labelNames: ['route'] as const, registers: [r] }).inc({ route: '/predict' }, 3);
  const g = new Gauge({ name: 'g', help: 'g', labelNames: ['l'] as const, registers: [r] });
  g.set({ l: 'pos' }, Infinity);
  g.set({ l: 'neg' }, -Infinity);
  g.set({ l: 'small' }, 1e-7);
  new Gauge({ name: 'empty', help: 'no series yet', registers: [r] });
  const s = new Summary({ name: 's_seconds', help: 's', percentiles: [0.5, 0.99], registers: [r] });
  for (let i = 1; i <= 100; i++) s.observe(i / 100);
  expect(await renderMetrics(r)).toBe(await r.metrics());
});

test('renders the API and consumer registries as prom-client does', async () => {
  const api = createApiMetrics(true, undefined);
  for (const status of [200, 422]) api.requestFinished('POST', '/predict', status, 0.004);
  api.error('/predict', 'validation');
  api.predicted('ml', [0.2, 0.9]);
  api.inferred('ml', 0.0002, 2);
  const consumer = createConsumerMetrics('volwatch-consumer');
  consumer.consumed(10);
  consumer.predicted('ml', 10, 0.001);
  consumer.offsetLag('ticks', 0, 5);
  consumer.batch(0.01, 10);
  for (const registry of [api.registry, consumer.registry]) {
    const ours = await renderMetrics(registry);
    expect(ours.split('\n').length).toBeGreaterThan(50);
    expect(mask(ours)).toBe(mask(await registry.metrics()));
  }
});

test('registries with default labels go through prom-client', async () => {
  const r = new Registry();
  r.setDefaultLabels({ pod: 'a' });
  new Counter({ name: 'c_total', help: 'c', registers: [r] }).inc();
  expect(await renderMetrics(r)).toBe(await r.metrics());
  expect(await renderMetrics(r)).toContain('c_total{pod="a"} 1');
});
