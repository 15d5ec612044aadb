// A service run by runService for test/services/core/service-main.test.ts; FAKE_MODE picks
// how it behaves, and it reports what happened to it on stdout.
import { ConfigError } from '../../services/core/config';
import { runService } from '../../services/core/service-main';

const mode = process.env.FAKE_MODE ?? 'ok';
void runService({
  name: 'fake-service',
  loadConfig: () => {
    if (mode === 'config-error') throw new ConfigError(['FAKE_PORT must be a port number, got "x"', 'FAKE_LEVEL must be one of info, debug']);
    return { logLevel: 'silent' as const };
  },
  create: () => {
    let failFatal: (err: Error) => void = () => undefined;
    const fatal = new Promise<never>((_, reject) => (failFatal = reject));
    return {
      fatal,
      async start() {
        if (mode === 'start-fails') throw new Error('port in use');
        process.stdout.write('started\n');
        if (mode === 'fatal') setTimeout(() => failFatal(new Error('out of restarts')), 50);
        if (mode === 'uncaught') setTimeout(() => { throw new Error('boom'); }, 50);
        setInterval(() => undefined, 1000); // a live service keeps the loop busy
      },
      async stop() {
        process.stdout.write('stopping\n');
        await new Promise((r) => setTimeout(r, 200));
        process.stdout.write('stopped\n');
      },
    };
  },
});
