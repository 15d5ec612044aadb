import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');

function run(mode: string, signals: NodeJS.Signals[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'support', 'fake-service.ts')], { cwd: ROOT, env: { ...process.env, FAKE_MODE: mode } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout === 'started\n') for (const s of signals) child.kill(s);
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

test('a configuration error prints every problem under the service name and exits 2 without starting', async () => {
  const r = await run('config-error');
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('fake-service: invalid configuration:\n  - FAKE_PORT must be a port number, got "x"\n  - FAKE_LEVEL must be one of info, debug\n');
  expect(r.stdout).toBe('');
});

test('SIGTERM stops the service and exits 0; a second signal while stopping does not stop it twice', async () => {
  const r = await run('ok', ['SIGTERM', 'SIGINT']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('started\nstopping\nstopped\n');
});

test('SIGINT does the same as SIGTERM', async () => {
  const r = await run('ok', ['SIGINT']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('started\nstopping\nstopped\n');
});

test('a failed start stops what was started and exits 1', async () => {
  const r = await run('start-fails');
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('stopping\nstopped\n');
});

test('a fatal error after start stops the service and exits 1', async () => {
  const r = await run('fatal');
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('started\nstopping\nstopped\n');
});

test('an uncaught exception exits 1 at once', async () => {
  const r = await run('uncaught');
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('started\n');
});
