import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { ModelManager } from '../../../services/core/model/manager';
import { createVersionServer } from '../../../services/consumer/status-server';

/** The fields of a ModelManager /version reads, serving `variant` after a request for `requested`. */
function manager(variant: 'ml' | 'baseline', requested: 'ml' | 'baseline' = variant): ModelManager {
  return {
    current: () => ({ name: `volwatch-${variant}`, version: '1', variant }),
    desiredVariant: requested,
    inFallback: variant !== requested,
  } as unknown as ModelManager;
}

const versionOf = async (url: string) => ((await (await fetch(url)).json()) as { app: unknown; model: Record<string, unknown> | null });

async function serve(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the consumer version port (VERSION_PORT)', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  test('GET /version reports the model served now, as the metrics port does', async () => {
    let m: ModelManager | undefined;
    server = createVersionServer(() => m);
    const base = await serve(server);
    expect(await versionOf(`${base}/version`)).toMatchObject({ app: { name: 'volwatch-consumer' }, model: null });
    m = manager('baseline');
    const body = await versionOf(`${base}/version?x=1`);
    expect(body.model).toEqual({ name: 'volwatch-baseline', version: '1', variant: 'baseline', requestedVariant: 'baseline', fallback: false });
    m = manager('baseline', 'ml');
    expect((await versionOf(`${base}/version`)).model).toMatchObject({ variant: 'baseline', requestedVariant: 'ml', fallback: true });
  });

  test('serves nothing else: metrics, health and readiness stay on the metrics port the policy keeps for Prometheus', async () => {
    server = createVersionServer(() => manager('ml'));
    const base = await serve(server);
    for (const p of ['/metrics', '/health', '/ready', '/']) {
      const r = await fetch(`${base}${p}`);
      expect({ p, status: r.status }).toEqual({ p, status: 404 });
      expect(await r.text()).not.toContain('volwatch_consumer_');
    }
    const post = await fetch(`${base}/version`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
