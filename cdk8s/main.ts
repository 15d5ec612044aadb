import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ManifestConfigError } from './common';
import { REPO_ROOT, synthesize, writeManifests } from './app';

const USAGE = `usage: npm run synth -- [--outdir DIR] [--kafka-bootstrap HOST:PORT[,HOST:PORT]] [--image REF]
  --outdir           where to write the YAML files (default: manifests/)
  --kafka-bootstrap  use an existing Kafka instead of deploying a broker
  --image            image for the API and consumer (default: ghcr.io/volwatch/volwatch:<package.json version>)`;

function main(): void {
  let values: { outdir?: string; 'kafka-bootstrap'?: string; image?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { outdir: { type: 'string' }, 'kafka-bootstrap': { type: 'string' }, image: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`synth: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const outdir = path.resolve(values.outdir ?? path.join(REPO_ROOT, 'manifests'));
  try {
    const result = synthesize({ kafkaBootstrapServers: values['kafka-bootstrap'], image: values.image });
    const { written, removed } = writeManifests(outdir, result);
    for (const f of written) process.stdout.write(`wrote ${path.relative(process.cwd(), path.join(outdir, f)) || f}\n`);
    for (const f of removed) process.stdout.write(`removed stale ${f}\n`);
  } catch (err) {
    if (err instanceof ManifestConfigError) {
      process.stderr.write(`synth: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

main();
