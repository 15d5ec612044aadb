import { LOG_LEVELS, type LogLevel } from '../core/config';
import { createLogger } from '../core/logger';
import { PRODUCER_USAGE, UsageError, parseProducerArgs } from './cli';
import { produceTicks } from './producer';
import { ReplayFileError } from './sources';

async function main(): Promise<void> {
  let options;
  try {
    options = parseProducerArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`volwatch-producer: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(PRODUCER_USAGE);
    return;
  }
  // Logs go to stderr; stdout carries only the final summary (one JSON line).
  const logger = createLogger('volwatch-producer', logLevel(), process.stderr as never);
  const abort = new AbortController();
  const stop = (): void => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const summary = await produceTicks(options, { logger, signal: abort.signal });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.unsent > 0 || summary.dropped > 0) {
      process.stderr.write(`volwatch-producer: Kafka did not take every tick: ${summary.unsent} still unsent after the final flush, ${summary.dropped} dropped when the outage buffer was full (${summary.sent} of ${summary.generated} sent)\n`);
      process.exit(1);
    }
  } catch (err) {
    if (err instanceof ReplayFileError) {
      process.stderr.write(`volwatch-producer: ${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'producing failed');
    process.exit(1);
  }
}

void main();

function logLevel(): LogLevel {
  const v = process.env.LOG_LEVEL?.trim();
  return v && (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : 'info';
}
