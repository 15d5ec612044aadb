/**
 * One benchmark target per process, so the load generator never shares a core
 * with the server it measures. Prints `listening <port>` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createApi } from '../../services/api/app';
import { loadApiConfig } from '../../services/api/config';
import { createLogger } from '../../services/core/logger';

const CONSTANT = JSON.stringify({ predictions: [{ probability: 0.042, label: 0, model: 'constant', version: '0', variant: 'ml' }] });

async function main(): Promise<void> {
  const mode = process.argv[2];
  let port: number;
  if (mode === 'node-http') {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CONSTANT) }).end(CONSTANT));
    });
    port = await new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  } else if (mode === 'express') {
    const app = express();
    // The framework's own floor: routing and res.json, no body parsing, no middleware.
    app.post('/predict', (_req, res) => {
      res.json(JSON.parse(CONSTANT));
    });
    const server = createServer(app);
    port = await new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  } else if (mode === 'api' || mode === 'api-no-metrics') {
    // Shedding (MAX_IN_FLIGHT) and the inference deadline are off: a benchmark on a shared machine
    // measures the cost of serving every request, not how often a busy neighbour trips a timeout.
    const config = loadApiConfig({ ...process.env, PORT: '0', METRICS_PORT: '0', METRICS_ENABLED: mode === 'api' ? 'true' : 'false', MAX_IN_FLIGHT: '10000', INFERENCE_TIMEOUT_MS: '10000', LOG_LEVEL: 'silent' });
    const api = createApi(config, { logger: createLogger('bench', 'silent') });
    port = (await api.start()).port;
  } else {
    throw new Error(`unknown mode ${mode}: use node-http, express, api or api-no-metrics`);
  }
  process.stdout.write(`listening ${port}\n`);
}

void main();
