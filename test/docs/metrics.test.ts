import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { createApiMetrics } from '../../services/api/metrics';
import { createConsumerMetrics } from '../../services/consumer/metrics';

const doc = readFileSync(join(__dirname, '../../docs/metrics.md'), 'utf8');
/** Rows of the metric tables: name → type column. */
const rows = new Map([...doc.matchAll(/^\| `([a-z_:*]+)` \| ([a-z (),1]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));

async function registered(registry: Registry): Promise<{ name: string; type: string }[]> {
  return (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: String(m.type) }));
}

const runtime = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');
const drift = (name: string) => /^volwatch_(consumer_)?(drift_|dataset_drift)/.test(name);

describe('docs/metrics.md lists what the services serve', () => {
  test.each([
    ['the API', () => createApiMetrics(true, undefined).registry],
    ['the consumer', () => createConsumerMetrics('volwatch-consumer').registry],
  ])('every metric %s registers has a row with its type (runtime and drift metrics in their own paragraphs)', async (_, make) => {
    const served = (await registered(make())).filter((m) => !runtime(m.name) && !drift(m.name));
    expect(served.length).toBeGreaterThan(10);
    const undocumented = served.filter((m) => !rows.get(m.name)?.startsWith(m.type)).map((m) => `${m.name} (${m.type}; doc: ${rows.get(m.name) ?? 'no row'})`);
    expect(undocumented).toEqual([]);
  });

  test('every volwatch_ metric with a row is served by a service', async () => {
    const names = new Set([...(await registered(createApiMetrics(true, undefined).registry)), ...(await registered(createConsumerMetrics('g').registry))].map((m) => m.name));
    const documented = [...rows.keys()].filter((n) => n.startsWith('volwatch_') && !n.includes('*'));
    expect(documented.filter((n) => !names.has(n))).toEqual([]);
  });
});
