import { ConfigError } from '../core/config';
import { createLogger } from '../core/logger';
import { loadConsumerConfig } from './config';
import { createConsumer } from './consumer';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConsumerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`volwatch-consumer: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('volwatch-consumer', config.logLevel);
  const consumer = createConsumer(config, { logger });
  let stopping = false;
  const shutdown = (signal: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutdown requested');
    consumer.stop().then(
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
  // Out of crash restarts: exit non-zero so Kubernetes restarts the pod.
  consumer.fatal.catch(() => shutdown('fatal', 1));
  try {
    await consumer.start();
  } catch (err) {
    logger.fatal({ err }, 'consumer failed to start');
    await consumer.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
