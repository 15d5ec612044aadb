import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ARTIFACTS_DIR, sleep, startApi } from '../../support/api';
import { validRow } from '../../support/fixtures';

interface Outcome {
  status?: number;
  connection?: string;
  errorCode?: string;
  reusedSocket: boolean;
  sentAfterStop: boolean;
}

const BODY = JSON.stringify({ features: validRow() });

function predictOnce(srv: { url: string }, agent: Agent, stopped: () => boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(`${srv.url}/predict`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(BODY.length) } });
    const sentAfterStop = stopped();
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, reusedSocket: req.reusedSocket, sentAfterStop }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ errorCode: err.code ?? err.message, reusedSocket: req.reusedSocket, sentAfterStop }));
    req.end(BODY);
  });
}

/**
 * The API as its own process, as in production. (In one process with 100 busy clients,
 * Node leaves most new connections in the accept queue, which is not what a server sees.)
 */
async function spawnApi(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/api/main.ts'], {
    cwd: join(__dirname, '../../..'),
    env: { ...process.env, PORT: '0', METRICS_PORT: '0', MODEL_DIR: ARTIFACTS_DIR, DRIFT_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"port":(\d+).*"api ready"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`api exited before it was ready: ${out}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, exited };
}

describe('drain on SIGTERM', () => {
  it('answers every request sent on 100 kept-alive connections while it drains: no reset without a response', async () => {
    const srv = await spawnApi({ SHUTDOWN_TIMEOUT_MS: '5000', INFERENCE_TIMEOUT_MS: '10000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 100 });
    let stopping = false;
    const outcomes: Outcome[] = [];
    let warm = 0;
    const worker = async (): Promise<void> => {
      for (let n = 0; ; n++) {
        const o = await predictOnce(srv, agent, () => stopping);
        outcomes.push(o);
        if (n === 0) warm++;
        if (o.errorCode) return; // the server is gone (refused) or reset us: the assertions tell which
      }
    };
    try {
      const workers = Array.from({ length: 100 }, worker);
      // Every connection has been accepted and answered once, then traffic runs for a while.
      while (warm < 100) await sleep(20);
      await sleep(500);
      const sockets = Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;
      stopping = true;
      srv.child.kill('SIGTERM');
      await Promise.all(workers);
      expect(await srv.exited).toBe(0);
      expect(sockets).toBe(100);
      const failures = outcomes.filter((o) => o.errorCode && o.errorCode !== 'ECONNREFUSED');
      expect({ failures: failures.length, examples: failures.slice(0, 3) }).toEqual({ failures: 0, examples: [] });
      // Each kept-alive connection ended with an answer that closed it (the prediction in
      // flight, or 503 draining for the next request), then the client was refused a new one.
      const closing = outcomes.filter((o) => o.connection === 'close');
      expect(closing.length).toBeGreaterThanOrEqual(95);
      expect(closing.length).toBeLessThanOrEqual(100);
      for (const o of outcomes.filter((x) => x.status)) expect([200, 503]).toContain(o.status);
      expect(outcomes.filter((o) => o.errorCode === 'ECONNREFUSED')).toHaveLength(100);
      expect(outcomes.filter((o) => o.status === 200).length).toBeGreaterThan(100);
    } finally {
      agent.destroy();
      srv.child.kill('SIGKILL');
    }
  }, 60_000);

  it('closes idle kept-alive connections after a short grace and finishes long before the budget', async () => {
    const srv = await startApi({ SHUTDOWN_TIMEOUT_MS: '10000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    try {
      await Promise.all(Array.from({ length: 20 }, () => predictOnce(srv, agent, () => false)));
      const started = Date.now();
      const stopped = srv.api.stop();
      // A client that comes back during the grace on its idle connection is still answered.
      await sleep(200);
      const late = await predictOnce(srv, agent, () => true);
      expect(late).toMatchObject({ status: 503, connection: 'close', reusedSocket: true });
      await stopped;
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('answers a request arriving during the drain only after reading its body, even from a too slow sender', async () => {
    const srv = await startApi({ SHUTDOWN_TIMEOUT_MS: '10000', BODY_TIMEOUT_MS: '1000', BODY_IDLE_TIMEOUT_MS: '1000' });
    const socket = connect(Number(new URL(srv.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined);
    try {
      await new Promise((r) => socket.once('connect', r));
      const head = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`;
      socket.write(head + BODY);
      while (!received.includes('"predictions"')) await sleep(10);
      const stopped = srv.api.stop();
      await sleep(50);
      received = '';
      socket.write(head + BODY.slice(0, 10)); // and never the rest
      const started = Date.now();
      await new Promise((r) => socket.once('close', r));
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(received).toMatch(/^HTTP\/1\.1 503 [^\r]*\r\n(.*\r\n)*connection: close\r\n/i);
      expect(received).toContain('"type":"draining"');
      await stopped;
    } finally {
      socket.destroy();
    }
  });
});
