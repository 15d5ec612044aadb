import { type Socket, connect } from 'node:net';
import { postJson, sleep, startApi } from '../../support/api';
import { validRow } from '../../support/fixtures';

interface SlowSender {
  /** Everything the server sent back. */
  readonly received: () => string;
  /** Resolves when the server closed the connection, with ms since the headers were sent. */
  readonly closed: Promise<number>;
  stop(): void;
}

/**
 * A real slow client over a TCP socket: sends the request headers at once, then the
 * body one byte every `byteEveryMs` (never finishing within the test), or the first
 * `stallAfter` bytes and then nothing.
 */
function slowSender(port: number, opts: { byteEveryMs: number; stallAfter?: number }): Promise<SlowSender> {
  const body = JSON.stringify({ features: validRow() });
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - started)));
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined); // a reset after the server's answer is fine; `received` tells
    socket.once('connect', () => {
      socket.write(`POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      timer = setInterval(() => {
        if (socket.destroyed || sent >= (opts.stallAfter ?? body.length - 1)) return;
        socket.write(body[sent++]!);
      }, opts.byteEveryMs);
      resolve({ received: () => received, closed, stop: () => (clearInterval(timer), socket.destroy()) });
    });
    socket.once('error', reject);
  });
}

async function firstSuccessAfter(url: string, limitMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const res = await postJson(`${url}/predict`, { features: validRow() });
    if (res.status === 200) return Date.now() - started;
    expect(res.json.error.type).toBe('overloaded');
    await sleep(200);
  }
  return undefined;
}

describe('slow request bodies', () => {
  it('takes the MAX_IN_FLIGHT slots back from 130 clients that send a body one byte per second, within seconds', async () => {
    const srv = await startApi(); // defaults: MAX_IN_FLIGHT 128, BODY_TIMEOUT_MS 5000
    const senders = await Promise.all(Array.from({ length: 130 }, () => slowSender(Number(new URL(srv.url).port), { byteEveryMs: 1000 })));
    try {
      await sleep(500);
      expect((await postJson(`${srv.url}/predict`, { features: validRow() })).status).toBe(503); // they do hold every slot
      const recoveredAfter = await firstSuccessAfter(srv.url, 15_000);
      // Default BODY_TIMEOUT_MS is 5 s from the end of the headers.
      expect(recoveredAfter).toBeDefined();
      expect(recoveredAfter!).toBeLessThan(10_000); // 5 s plus slack for a busy machine; ~80 s before
      const closedAfter = await Promise.all(senders.map((s) => s.closed));
      // 128 held a slot and got 408 from the body timeout; 2 got 503 at once.
      const answers = senders.map((s) => s.received());
      expect(answers.filter((a) => /^HTTP\/1\.1 408 [^\r]*\r\n(.*\r\n)*connection: close\r\n/i.test(a) && a.includes('"type":"request_timeout"'))).toHaveLength(128);
      expect(answers.filter((a) => a.startsWith('HTTP/1.1 503 '))).toHaveLength(2);
      for (const ms of closedAfter) expect(ms).toBeLessThan(10_000);
    } finally {
      senders.forEach((s) => s.stop());
      await srv.api.stop();
    }
  }, 30_000);

  it('answers 408 when a body stalls for longer than BODY_IDLE_TIMEOUT_MS', async () => {
    const srv = await startApi({ BODY_IDLE_TIMEOUT_MS: '500', BODY_TIMEOUT_MS: '20000' });
    const s = await slowSender(Number(new URL(srv.url).port), { byteEveryMs: 10, stallAfter: 20 });
    try {
      const closedAfter = await s.closed;
      expect(closedAfter).toBeGreaterThanOrEqual(500);
      expect(closedAfter).toBeLessThan(4_000);
      expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(s.received()).toContain('no body byte for 500 ms');
    } finally {
      s.stop();
      await srv.api.stop();
    }
  }, 30_000);

  it('closes a connection whose headers do not arrive within HEADERS_TIMEOUT_MS', async () => {
    const srv = await startApi({ HEADERS_TIMEOUT_MS: '1000' });
    const socket = connect(Number(new URL(srv.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined);
    try {
      await new Promise((r) => socket.once('connect', r));
      const started = Date.now();
      socket.write('POST /predict HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
      await new Promise((r) => socket.once('close', r));
      clearInterval(timer);
      // Checked every second (connectionsCheckingInterval), so within 1–2 s (plus slack for a busy machine).
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
      await srv.api.stop();
    }
  });

  it('still serves requests whose body arrives in pieces in time, and keeps idle keep-alive connections beyond the header timeout', async () => {
    const srv = await startApi({ BODY_IDLE_TIMEOUT_MS: '500', BODY_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '1000' });
    const port = Number(new URL(srv.url).port);
    const body = JSON.stringify({ features: validRow() });
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    try {
      await new Promise((r) => socket.once('connect', r));
      const send = async () => {
        socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        for (let i = 0; i < body.length; i += 40) {
          socket.write(body.slice(i, i + 40));
          await sleep(100);
        }
      };
      await send();
      await sleep(2_500); // idle on a kept-alive connection: longer than the header timeout
      await send();
      await sleep(300);
      expect(received.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
      await srv.api.stop();
    }
  }, 30_000);
});
