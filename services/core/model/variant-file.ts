import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger';
import type { ModelManager } from './manager';
import { parseVariant } from './model';

export interface VariantFileWatcher {
  /** Reads the file once now (used at start-up and by tests). */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * Polls the variant file (a ConfigMap key in Kubernetes). Polling rather than
 * fs.watch: kubelet updates a ConfigMap volume by swapping a symlinked
 * directory, which inotify on the file itself does not report.
 */
export function watchVariantFile(path: string, manager: ModelManager, logger: Logger, intervalMs: number, retryMs = 30_000): VariantFileWatcher {
  let last: string | undefined;
  let lastRetry = Date.now();
  let running: Promise<void> | undefined;

  const pollOnce = async (): Promise<void> => {
    let text: string;
    try {
      text = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      if (last !== '<unreadable>') logger.warn({ path, code: (err as NodeJS.ErrnoException).code }, 'model variant file unreadable; keeping the current model');
      last = '<unreadable>';
      return;
    }
    if (text !== last) {
      last = text;
      const variant = parseVariant(text);
      if (!variant) {
        logger.error({ path, content: text.slice(0, 100) }, 'model variant file must contain "ml", "baseline" or an absolute model directory; keeping the current model');
        return;
      }
      if (variant !== manager.desiredVariant || manager.inFallback) await manager.switchTo(variant);
    } else if (manager.inFallback && Date.now() - lastRetry >= retryMs) {
      lastRetry = Date.now();
      await manager.reconcile();
    }
  };

  const poll = (): Promise<void> => {
    running ??= pollOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  return { poll, stop: () => clearInterval(timer) };
}
