/** Extracts the rule groups of every PrometheusRule in manifests/ into one Prometheus rule file. */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

const [manifestsDir = 'manifests', out = '.work/local/rules.yml'] = process.argv.slice(2);
const groups: unknown[] = [];
for (const file of readdirSync(manifestsDir).filter((f) => f.endsWith('.yaml')).sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(manifestsDir, file), 'utf8'))) {
    const obj = doc.toJS() as { kind?: string; spec?: { groups?: unknown[] } } | null;
    if (obj?.kind === 'PrometheusRule') groups.push(...(obj.spec?.groups ?? []));
  }
}
writeFileSync(out, stringify({ groups }));
process.stdout.write(`wrote ${groups.length} rule groups to ${out}\n`);
