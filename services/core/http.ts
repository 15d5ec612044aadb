import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { renderMetrics } from './exposition';
import type { Logger } from './logger';

/** Listens and resolves with the bound port (port 0 picks a free one). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops listening; resolves once every connection has ended. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** True for GET /metrics, with or without a query string. */
export function isMetricsRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?') === true);
}

/** Answers a scrape with the registry's exposition and its content type. */
export async function sendMetrics(registry: Registry, res: ServerResponse, logger: Logger): Promise<void> {
  try {
    const body = await renderMetrics(registry);
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
  } catch (err) {
    logger.error({ err }, 'metrics rendering failed');
    res.writeHead(500).end();
  }
}
