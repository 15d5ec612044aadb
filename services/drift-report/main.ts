import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseFlags, UsageError } from '../core/cli-flags';
import type { SelectableMethod } from '../core/drift/evaluate';
import { readFeatureData, readReference, ReportInputError } from './input';
import { renderHtml, verdictText } from './render';
import { buildReport } from './report';

const USAGE = `usage: npm run drift-report -- --reference <model dir | metadata.json | profile.json | rows.jsonl | rows.csv> --current <file.jsonl | file.csv> [--out <dir>] [--method auto|ks|wasserstein|psi] [--fail-on-drift]

Compares the current feature distribution with the model's training reference and writes
<out>/report.html (self-contained) and <out>/report.json. Files hold feature rows
(columns ${'`'}ret_1s … log_volume_30s${'`'}) or raw ticks (Coinbase ticker fields), which are featurized.
Exit codes: 0 written, 1 bad input, 2 bad usage, 3 dataset drift with --fail-on-drift.`;


export interface CliArgs {
  readonly reference: string;
  readonly current: string;
  readonly out: string;
  readonly method: 'auto' | SelectableMethod;
  readonly failOnDrift: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs | 'help' {
  const flags = parseFlags(argv, { values: ['reference', 'current', 'out', 'method'], switches: ['fail-on-drift'] });
  if (flags === 'help') return 'help';
  const { values } = flags;
  const failOnDrift = flags.switches['fail-on-drift'];
  if (!values.reference) throw new UsageError('--reference is required');
  if (!values.current) throw new UsageError('--current is required');
  const method = values.method ?? 'auto';
  if (!['auto', 'ks', 'wasserstein', 'psi'].includes(method)) throw new UsageError(`--method must be auto, ks, wasserstein or psi, got ${JSON.stringify(method)}`);
  return { reference: values.reference, current: values.current, out: values.out ?? '.work/drift-report', method: method as CliArgs['method'], failOnDrift };
}

export function run(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let args: CliArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`drift-report: ${e.message}.\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    out(USAGE + '\n');
    return 0;
  }
  try {
    const reference = readReference(args.reference);
    const current = readFeatureData(args.current, 'current');
    const report = buildReport(reference, current, { method: args.method });
    const dir = resolve(args.out);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(dir, 'report.html'), renderHtml(report));
    out(`${verdictText(report)}.\nwrote ${join(dir, 'report.html')} and ${join(dir, 'report.json')}\n`);
    return args.failOnDrift && report.dataset.datasetDrift ? 3 : 0;
  } catch (e) {
    if (e instanceof ReportInputError) {
      err(`drift-report: ${e.message}.\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS' || code === 'ENOSPC') {
      err(`drift-report: cannot write the report to ${args.out}: ${code}.\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}
