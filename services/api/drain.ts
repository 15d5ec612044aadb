import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

export interface DrainOptions {
  /** Idle kept-alive connections are closed once no request has arrived for this long. */
  readonly idleGraceMs: number;
  /** After this, every remaining connection is destroyed. */
  readonly budgetMs: number;
}

/**
 * Graceful drain of an HTTP/1.1 server, the way http-terminator does it: answer, mark
 * connections to close, then close. The difference that matters is the order.
 *
 * Closing an idle kept-alive connection races with a client that is sending its next
 * request on it: the request meets a closed socket and the client gets ECONNRESET
 * without a response. Node's `server.close()` does exactly that at once
 * (closeIdleConnections, since Node 19). So while draining:
 * 1. the listener closes (new connections are refused: safe to retry elsewhere);
 * 2. every response not yet started, and every later one, carries `Connection: close`,
 *    so each connection closes right after its next answer, by the server, in order;
 * 3. connections that stay idle are closed once no request has arrived for
 *    `idleGraceMs` (Node's idle test skips a connection with a request half-received);
 * 4. at `budgetMs` whatever is left is destroyed.
 */
export class HttpDrain {
  private readonly unstarted = new Set<ServerResponse>();
  private lastRequestAt = 0;
  private started = false;

  constructor(private readonly server: Server) {}

  get draining(): boolean {
    return this.started;
  }

  /** Call when a request starts (before any response is written). */
  requestStarted(res: ServerResponse): void {
    if (this.started) {
      res.setHeader('Connection', 'close');
      this.lastRequestAt = performance.now();
    } else {
      this.unstarted.add(res);
    }
  }

  /** Call when its response closed. */
  requestFinished(res: ServerResponse): void {
    this.unstarted.delete(res);
  }

  /** Resolves true when every connection closed within the budget, false when some were destroyed. */
  async drain(opts: DrainOptions): Promise<boolean> {
    if (this.started) throw new Error('already draining');
    this.started = true;
    const begin = performance.now();
    this.lastRequestAt = begin;
    for (const res of this.unstarted) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.unstarted.clear();
    let allClosed = false;
    // net's close, not http's: http's would close the idle connections at once (step 3 is later).
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve())).then(() => (allClosed = true));
    while (!allClosed) {
      const now = performance.now();
      if (now - begin >= opts.budgetMs) break;
      if (now - this.lastRequestAt >= opts.idleGraceMs) this.server.closeIdleConnections();
      const wait = Math.max(1, Math.min(50, opts.budgetMs - (now - begin)));
      await Promise.race([closed, new Promise((r) => setTimeout(r, wait).unref())]);
    }
    const inTime = allClosed;
    this.server.closeAllConnections();
    await closed;
    // http's close now only clears its connection-checking interval.
    this.server.close();
    return inTime;
  }
}
