import { type Server, createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { sendMetrics } from '../core/http';
import type { Logger } from '../core/logger';
import type { ModelManager } from '../core/model/manager';
import { variantLabel } from '../core/model/model';
import { appVersion } from '../core/version';
import type { ConsumerHealth } from './health';

export interface StatusServerDeps {
  readonly registry: Registry;
  readonly health: ConsumerHealth;
  readonly manager: () => ModelManager | undefined;
  readonly partitions: () => number[];
  readonly sessionTimeoutMs: number;
  readonly logger: Logger;
}

const modelOf = (m: ModelManager | undefined) => {
  const c = m?.current();
  return c ? { name: c.name, version: c.version, variant: variantLabel(c.variant) } : null;
};

/** The /version document: the app's build and the model served now (null while none is loaded). */
function versionBody(manager: () => ModelManager | undefined): unknown {
  const version = appVersion();
  const m = manager();
  const model = modelOf(m);
  return {
    app: { name: 'volwatch-consumer', version: version.version, gitRevision: version.gitRevision },
    model: model && m ? { ...model, requestedVariant: m.desiredVariant, fallback: m.inFallback } : null,
  };
}

/** The consumer's HTTP surface: /metrics, /health (liveness), /ready, /version. */
export function createStatusServer(deps: StatusServerDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'application/json' }).end('{"error":{"type":"method_not_allowed"}}');
      return;
    }
    switch (path) {
      case '/metrics':
        void sendMetrics(deps.registry, res, deps.logger);
        return;
      case '/health': {
        const h = deps.health.snapshot();
        json(h.live ? 200 : 503, { status: h.live ? 'ok' : 'stuck', crashed: h.crashed, joined: h.joined, msSinceProgress: h.msSinceProgress, sessionTimeoutMs: deps.sessionTimeoutMs });
        return;
      }
      case '/ready': {
        const h = deps.health.snapshot();
        const { live: _live, ...rest } = h;
        json(h.ready ? 200 : 503, { ...rest, model: modelOf(deps.manager()), partitions: deps.partitions() });
        return;
      }
      case '/version':
        json(200, versionBody(deps.manager));
        return;
      default:
        json(404, { error: { type: 'not_found', message: 'try /metrics, /health, /ready or /version' } });
    }
  });
}

/**
 * GET /version and nothing else, on a port of its own (VERSION_PORT): a NetworkPolicy can admit
 * it from anywhere, so `npm run rollback` reads the variant through the API server's pod proxy
 * wherever that proxy's traffic comes from, while /metrics stays for the monitoring namespace.
 */
export function createVersionServer(manager: () => ModelManager | undefined): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') send(405, { error: { type: 'method_not_allowed' } }, { Allow: 'GET' });
    else if (path === '/version') send(200, versionBody(manager));
    else send(404, { error: { type: 'not_found', message: 'this port serves only /version; metrics, health and readiness are on METRICS_PORT' } });
  });
}
