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

/** The consumer's only HTTP surface: /metrics, /health (liveness), /ready, /version. */
export function createStatusServer(deps: StatusServerDeps): Server {
  const version = appVersion();
  const modelOf = (m: ModelManager | undefined) => {
    const c = m?.current();
    return c ? { name: c.name, version: c.version, variant: variantLabel(c.variant) } : null;
  };
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
      case '/version': {
        const m = deps.manager();
        const model = modelOf(m);
        json(200, {
          app: { name: 'volwatch-consumer', version: version.version, gitRevision: version.gitRevision },
          model: model && m ? { ...model, requestedVariant: m.desiredVariant, fallback: m.inFallback } : null,
        });
        return;
      }
      default:
        json(404, { error: { type: 'not_found', message: 'try /metrics, /health, /ready or /version' } });
    }
  });
}
