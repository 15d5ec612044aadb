import { ConfigError } from '../core/config';
import { createLogger } from '../core/logger';
import { createApi } from './app';
import { loadApiConfig } from './config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadApiConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`volwatch-api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('volwatch-api', config.logLevel);
  const api = createApi(config, { logger });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutdown requested');
    api.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  try {
    await api.start();
  } catch (err) {
    logger.fatal({ err }, 'api failed to start');
    process.exit(1);
  }
}

void main();
