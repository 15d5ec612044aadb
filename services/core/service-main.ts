import { ConfigError, type LogLevel } from './config';
import { createLogger, type Logger } from './logger';

/** What a service's `createX(config)` returns. */
export interface Service {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  /** Rejects when the service can no longer run (say, the consumer out of crash restarts). */
  readonly fatal?: Promise<unknown>;
}

export interface ServiceMain<C extends { readonly logLevel: LogLevel }> {
  /** Process name in logs and messages, for example `volwatch-api`. */
  readonly name: string;
  /** Parses the configuration from the environment; throws ConfigError naming every bad setting. */
  readonly loadConfig: () => C;
  readonly create: (config: C, logger: Logger) => Service;
}

/**
 * Runs a service as the process's entry point, with the exit codes Kubernetes and the scripts
 * rely on:
 *   - invalid configuration: the message on stderr, exit 2 (nothing is started);
 *   - SIGTERM or SIGINT: stop (drain), exit 0; a second signal while stopping is ignored;
 *   - a failed start, a `fatal` rejection or an uncaught exception: exit 1 (after a stop,
 *     except for an uncaught exception, after which nothing can be trusted).
 */
export async function runService<C extends { readonly logLevel: LogLevel }>(main: ServiceMain<C>): Promise<void> {
  let config: C;
  try {
    config = main.loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${main.name}: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(main.name, config.logLevel);
  const service = main.create(config, logger);
  let stopping = false;
  const shutdown = (reason: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: reason }, 'shutdown requested');
    service.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  service.fatal?.catch(() => shutdown('fatal', 1));
  try {
    await service.start();
  } catch (err) {
    logger.fatal({ err }, `${main.name} failed to start`);
    stopping = true;
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
}
