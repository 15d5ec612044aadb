/**
 * `npm run generate`: writes every committed monitoring artifact that is generated from
 * cdk8s/ data: the Sloth spec and Sloth's rules (Sloth 0.16 from scripts/monitoring-tools.sh),
 * the broker's JMX exporter configuration and docs/slo.md. `--check` compares instead of
 * writing and exits 1 naming every stale file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatedFiles, REPO_ROOT } from '../cdk8s/generate';

const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter((a) => a !== '--check');
if (unknown.length > 0) {
  process.stderr.write(`generate: unknown argument ${unknown.join(' ')}\nusage: npm run generate [-- --check]\n`);
  process.exit(2);
}
const sloth = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/monitoring-tools.sh'), 'path', 'sloth'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const stale: string[] = [];
for (const [rel, text] of generatedFiles(sloth)) {
  const file = path.join(REPO_ROOT, rel);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === text) continue;
  if (check) {
    stale.push(rel);
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${rel}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(`generate: stale, run npm run generate: ${stale.join(', ')}\n`);
  process.exit(1);
}
