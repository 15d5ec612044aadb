import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JMX_EXPORTER_CONFIG_FILE, jmxExporterConfig } from './kafka-metrics';
import { DEFAULT_RUNBOOK_URL, GENERATED_DIR, REFERENCE_TARGETS, SLO_RULES_FILE, SLOTH_SPEC_FILE, sloDefinitions, slothSpecYaml, type SloTargets } from './slo';
import { sloMarkdown } from './slo-docs';

export const REPO_ROOT = path.resolve(__dirname, '..');

/** Runs the real Sloth on a spec; returns its rule file. */
export function runSloth(sloth: string, specYaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-sloth-'));
  try {
    const input = path.join(dir, SLOTH_SPEC_FILE);
    const output = path.join(dir, SLO_RULES_FILE);
    fs.writeFileSync(input, specYaml);
    const r = spawnSync(sloth, ['generate', '--no-log', '-i', input, '-o', output], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sloth generate failed (status ${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
    return fs.readFileSync(output, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Sloth's rules for some targets (the committed file holds them for REFERENCE_TARGETS). */
export function slothRulesFor(sloth: string, t: SloTargets, runbookBaseUrl: string = DEFAULT_RUNBOOK_URL): string {
  return runSloth(sloth, slothSpecYaml(sloDefinitions(t), t, { runbookBaseUrl }));
}

/** Every generated file that is committed (repo-relative path -> content). */
export function generatedFiles(sloth: string): Map<string, string> {
  const t = REFERENCE_TARGETS;
  const spec = slothSpecYaml(sloDefinitions(t), t, { runbookBaseUrl: DEFAULT_RUNBOOK_URL });
  const rel = (f: string) => path.relative(REPO_ROOT, path.join(GENERATED_DIR, f));
  return new Map([
    [rel(SLOTH_SPEC_FILE), spec],
    [rel(SLO_RULES_FILE), runSloth(sloth, spec)],
    [JMX_EXPORTER_CONFIG_FILE, jmxExporterConfig()],
    ['docs/slo.md', sloMarkdown(sloDefinitions(t))],
  ]);
}
