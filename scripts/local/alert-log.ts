/**
 * The local stack's Alertmanager webhook receiver: every notification is appended to a
 * JSON-lines file (one line per alert, with the route it came by) and printed in one line.
 * The end-to-end test uses the same receiver in-process.
 *
 *   node --import tsx scripts/local/alert-log.ts [--port 9096] [--file .work/local/alerts.log]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

export interface ReceivedAlert {
  /** When the notification arrived (ms since the epoch). */
  readonly receivedAt: number;
  /** The receiver path segment: the severity route it came by. */
  readonly route: string;
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
}

export interface AlertLog {
  /** Resolves with the bound port. */
  start(): Promise<number>;
  stop(): Promise<void>;
  readonly received: readonly ReceivedAlert[];
}

interface WebhookBody {
  alerts?: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[];
}

const MAX_BODY = 1 << 20;

export function createAlertLog(o: { port: number; file?: string; quiet?: boolean }): AlertLog {
  const received: ReceivedAlert[] = [];
  const server = http.createServer((req, res) => {
    const route = (req.url ?? '/').split('/').filter(Boolean).pop() ?? '';
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let body: WebhookBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody;
      } catch {
        res.writeHead(400).end('body is not JSON\n');
        return;
      }
      const now = Date.now();
      for (const a of body.alerts ?? []) {
        const alert: ReceivedAlert = { receivedAt: now, route, status: a.status, labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: a.endsAt };
        received.push(alert);
        if (o.file) fs.appendFileSync(o.file, `${JSON.stringify(alert)}\n`);
        if (!o.quiet) process.stdout.write(`${new Date(now).toISOString()} ${a.status.padEnd(8)} ${route.padEnd(8)} ${a.labels.alertname} ${a.annotations.summary ?? ''}\n`);
      }
      res.writeHead(200).end();
    });
  });
  return {
    received,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      }),
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '9096' }, file: { type: 'string', default: '.work/local/alerts.log' } } });
  const log = createAlertLog({ port: Number(values.port), file: values.file });
  log.start().then(
    (port) => process.stdout.write(`alert log listening on http://127.0.0.1:${port}, writing ${values.file}\n`),
    (err: Error) => {
      process.stderr.write(`alert-log: ${err.message}\n`);
      process.exit(1);
    },
  );
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void log.stop().then(() => process.exit(0)));
}
