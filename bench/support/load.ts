/** Load generator process: runs autocannon with the JSON options in argv[2], prints its result as JSON. */
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]!) as { url: string; body: string; connections: number; duration: number };
autocannon(
  { url: opts.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: opts.body, connections: opts.connections, duration: opts.duration, pipelining: 1 },
  (err, result) => {
    if (err) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify({
      requestsPerSec: result.requests.average,
      total: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      p50ms: result.latency.p50,
      p99ms: result.latency.p99,
      statusCodes: result.statusCodeStats,
    }));
  },
);
