import { createServer } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { DriftMonitor } from '../core/drift';
import { FEATURE_NAMES } from '../core/features';
import { closeServer, isMetricsRequest, listen, sendMetrics } from '../core/http';
import type { Logger } from '../core/logger';
import { tryReadMetadata } from '../core/model/artifacts';
import type { ModelManager } from '../core/model/manager';
import { InferenceError, type Model, variantLabel } from '../core/model/model';
import { type ModelServing, createModelDrift, startModelServing } from '../core/model/serving';
import { appVersion } from '../core/version';
import type { ApiConfig } from './config';
import {
  ApiError,
  InferenceFailedError,
  InferenceTimeoutError,
  MethodNotAllowedError,
  NotFoundError,
  NotReadyError,
  OverloadedError,
  PayloadTooLargeError,
  RequestTimeoutError,
} from './errors';
import { type ApiMetrics, type RouteLabel, UNMATCHED_ROUTE, createApiMetrics } from './metrics';
import { InferenceBatcher } from './batcher';
import { HttpDrain } from './drain';
import { ClientAbortedError, discardBody, readJsonBody, skipBody } from './body';
import { parsePredictBody } from './validation';

export interface Api {
  /** Listens, loads the model, and resolves with the bound ports once ready. */
  start(): Promise<{ port: number; metricsPort: number }>;
  /** Drains: readiness fails at once, in-flight requests finish within the budget, then servers close. */
  stop(): Promise<void>;
}

export interface ApiDeps {
  readonly logger: Logger;
}

interface Locals {
  route: RouteLabel;
  /** Holds one of the MAX_IN_FLIGHT prediction slots until the response closes. */
  predictSlot: boolean;
}

/** nginx's convention for "client closed the request before the response": no standard code exists. */
const CLIENT_CLOSED_REQUEST = 499;

class Deadline extends Error {}

/**
 * onnxruntime-node's run() is a setImmediate around a blocking call on the event loop,
 * so no timer can fire while it runs. The deadline is therefore also checked after
 * the fact: a late result is never served (504), and MAX_BATCH_ROWS bounds the work.
 * The timer still covers runtimes that do work off the loop.
 */
async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Deadline()), ms);
  });
  try {
    const result = await Promise.race([p, timeout]);
    if (performance.now() - started > ms) throw new Deadline();
    return result;
  } finally {
    clearTimeout(timer);
  }
}

export function createApi(config: ApiConfig, deps: ApiDeps): Api {
  const { logger } = deps;
  const metadata = tryReadMetadata(config.modelDir);
  const metrics: ApiMetrics = createApiMetrics(config.metricsEnabled, metadata?.featureStats);
  const drift: DriftMonitor | undefined =
    config.driftEnabled && config.metricsEnabled
      ? createModelDrift({ referenceProfile: metadata?.referenceProfile, registry: metrics.registry, prefix: 'volwatch_', config, logger })
      : undefined;
  const version = appVersion();
  let serving: ModelServing | undefined;
  let manager: ModelManager | undefined;
  let draining = false;
  let predictsInFlight = 0;
  const batcher = new InferenceBatcher(config.maxBatchRows, (model, seconds, rows) => metrics.inferred(variantLabel(model.variant), seconds, rows));
  let requestsInFlight = 0;

  const bodyLimits = { maxBytes: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs, idleTimeoutMs: config.bodyIdleTimeoutMs };

  const isReady = (): boolean => manager !== undefined && !draining;
  const setReady = (): void => metrics.ready(isReady());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    const started = process.hrtime.bigint();
    requestsInFlight++;
    res.locals.route = UNMATCHED_ROUTE;
    res.locals.predictSlot = false;
    metrics.requestStarted();
    drain.requestStarted(res);
    res.once('close', () => {
      drain.requestFinished(res);
      if (res.locals.predictSlot) predictsInFlight--;
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
      metrics.requestFinished(req.method, res.locals.route, status, Number(process.hrtime.bigint() - started) / 1e9);
      requestsInFlight--;
    });
    next();
  });

  const route = (label: RouteLabel) => (_req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    res.locals.route = label;
    next();
  };

  app.get('/health', route('/health'), (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', route('/ready'), (_req, res) => {
    const m = manager?.current();
    res.status(isReady() ? 200 : 503).json({
      ready: isReady(),
      draining,
      model: m ? { name: m.name, version: m.version, variant: variantLabel(m.variant) } : null,
      fallback: manager?.inFallback ?? false,
    });
  });

  app.get('/version', route('/version'), (_req, res) => {
    const m = manager?.current();
    res.json({
      app: { name: 'volwatch-api', version: version.version, gitRevision: version.gitRevision },
      model: m
        ? { name: m.name, version: m.version, variant: variantLabel(m.variant), requestedVariant: manager!.desiredVariant, fallback: manager!.inFallback, decisionThreshold: m.decisionThreshold }
        : null,
      features: FEATURE_NAMES,
    });
  });

  app.post('/predict', route('/predict'), async (req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    if (!manager || draining) return next(new NotReadyError(draining ? 'shutting down' : 'model not loaded yet'));
    // Counted from the first byte, so slow uploads also hold a slot: the limit bounds memory too.
    if (predictsInFlight >= config.maxInFlight) return next(new OverloadedError(config.maxInFlight));
    predictsInFlight++;
    res.locals.predictSlot = true;
    let parsed;
    try {
      parsed = parsePredictBody(await readJsonBody(req, bodyLimits), config.maxBatchRows);
    } catch (err) {
      return next(err);
    }
    const model: Model = manager.current();
    try {
      const probs = await withDeadline(batcher.predict(model, parsed.input, parsed.rows), config.inferenceTimeoutMs);
      const variant = variantLabel(model.variant);
      metrics.predicted(variant, probs);
      metrics.checkDistribution(parsed.input, parsed.rows);
      drift?.observeBatch(parsed.values, parsed.rows);
      const predictions = new Array(parsed.rows);
      for (let i = 0; i < parsed.rows; i++) {
        const p = probs[i]!;
        predictions[i] = { probability: p, label: p >= model.decisionThreshold ? 1 : 0, model: model.name, version: model.version, variant };
      }
      res.json({ predictions });
    } catch (err) {
      if (err instanceof Deadline) return next(new InferenceTimeoutError(config.inferenceTimeoutMs));
      if (err instanceof InferenceError) {
        logger.error({ err, variant: model.variant }, 'inference failed');
        return next(new InferenceFailedError());
      }
      return next(err);
    }
  });

  for (const [path, allowed] of [['/predict', 'POST'], ['/health', 'GET'], ['/ready', 'GET'], ['/version', 'GET']] as const) {
    app.all(path, route(path), (_req, _res, next) => next(new MethodNotAllowedError(allowed)));
  }

  app.use((req, _res, next) => next(new NotFoundError(req.method)));

  // Express recognises error handlers by their four parameters.
  app.use((err: unknown, req: Request, res: Response<unknown, Locals>, _next: NextFunction) => {
    if (err instanceof ClientAbortedError) return; // nobody left to answer; recorded as 499
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else {
      logger.error({ err }, 'unhandled error');
      apiError = new ApiError(500, 'internal', 'internal error');
    }
    metrics.error(res.locals.route, apiError.type);
    if (res.headersSent) return;
    const send = (): void => void res.status(apiError.status).set(apiError.headers).json(apiError.toJSON());
    // The rest of an oversized or too slow body is never read: close rather than parse it as the next request.
    if (apiError instanceof PayloadTooLargeError || apiError instanceof RequestTimeoutError) {
      res.setHeader('Connection', 'close');
      send();
    } else if (drain.draining) {
      // Connection: close is set; read the body first so the close cannot reset the answer.
      // A sender too slow for the body limits still gets the answer; one that left gets nothing.
      skipBody(req, bodyLimits).then(send, (e: unknown) => (e instanceof RequestTimeoutError ? send() : res.destroy()));
    } else {
      send();
      discardBody(req, bodyLimits);
    }
  });

  // Node measures both timeouts from a request's first byte (an idle kept-alive connection is
  // not timed by them) and checks them every connectionsCheckingInterval: 1 s, not the
  // default 30 s. The /predict body has its own, tighter limits (body.ts); requestTimeout is
  // the backstop for bodies nobody reads.
  const server = createServer(
    {
      keepAliveTimeout: config.keepAliveTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.headersTimeoutMs + config.bodyTimeoutMs + 1000,
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  const drain = new HttpDrain(server);
  const metricsServer = createServer(async (req, res) => {
    if (isMetricsRequest(req)) return sendMetrics(metrics.registry, res, logger);
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"type":"not_found","message":"metrics are at GET /metrics"}}');
  });

  return {
    async start() {
      const port = await listen(server, config.port, config.host);
      const metricsPort = await listen(metricsServer, config.metricsPort, config.host);
      serving = await startModelServing(config, logger, metrics);
      manager = serving.manager;
      drift?.start();
      setReady();
      const m = manager.current();
      logger.info({ port, metricsPort, host: config.host, model: m.name, version: m.version, variant: m.variant, fallback: manager.inFallback }, 'api ready');
      return { port, metricsPort };
    },

    async stop() {
      if (draining) return;
      draining = true;
      setReady();
      drift?.stop();
      logger.info({ inFlight: requestsInFlight, budgetMs: config.shutdownTimeoutMs }, 'draining');
      const inTime = await drain.drain({ idleGraceMs: Math.min(config.shutdownIdleGraceMs, config.shutdownTimeoutMs), budgetMs: config.shutdownTimeoutMs });
      if (!inTime) logger.warn({ inFlight: requestsInFlight }, 'shutdown budget exceeded; closed the remaining connections');
      metricsServer.closeAllConnections();
      await closeServer(metricsServer);
      await serving?.close();
      logger.info('api stopped');
    },
  };
}
