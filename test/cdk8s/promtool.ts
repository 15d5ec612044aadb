import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { synthesize } from '../../cdk8s/app';
import type { Rule, RuleGroup } from '../../cdk8s/service-monitoring';

/** Every rule group of the synthesized PrometheusRules, by PrometheusRule name. */
export function synthesizedRuleGroups(props: Parameters<typeof synthesize>[0] = {}): Map<string, RuleGroup[]> {
  const rules = [...synthesize(props).objects.values()].flat().filter((o) => o.kind === 'PrometheusRule');
  return new Map(rules.map((r) => [r.metadata.name as string, r.spec.groups as RuleGroup[]]));
}

export function allRules(groups: Iterable<RuleGroup[]>): Rule[] {
  return [...groups].flat().flatMap((g) => g.rules ?? []);
}

/** The alert rule named `alert` (and with `severity`, when several share the name). */
export function alertRule(groups: Iterable<RuleGroup[]>, alert: string, severity?: string): Rule {
  const found = allRules(groups).filter((r) => r.alert === alert && (severity === undefined || (r.labels as Record<string, string> | undefined)?.severity === severity));
  if (found.length !== 1) throw new Error(`expected one alert ${alert}${severity ? ` (${severity})` : ''}, found ${found.length}`);
  return found[0]!;
}

/**
 * The annotations of an alert as promtool renders them: each `{{ ... }}` of the templates
 * is replaced by `values[...]` (keys are the template text between the braces, trimmed),
 * so a test states the rendered observed value it expects.
 */
export function renderedAnnotations(rule: Rule, values: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((rule.annotations ?? {}) as Record<string, string>)) {
    const lookup = (key: string): string => {
      if (key in values) return values[key]!;
      // `{{ with ... }}...{{ end }}` blocks: a `with:TEXT` key matches the block containing TEXT.
      const w = Object.keys(values).find((x) => x.startsWith('with:') && key.startsWith('{{ with') && key.includes(x.slice(5)));
      if (w) return values[w]!;
      throw new Error(`no rendered value for ${key} in ${rule.alert}.${k}`);
    };
    out[k] = v.replace(/\{\{ with .*?\{\{ end \}\}/gs, (block) => lookup(block)).replace(/\{\{(.*?)\}\}/g, (_m, inner: string) => lookup(inner.trim()));
  }
  return out;
}

export interface PromtoolRun {
  readonly status: number | null;
  readonly out: string;
}

/** Writes the rule groups and the unit tests to a temporary directory and runs `promtool test rules`. */
export function promtoolTest(promtool: string, groups: RuleGroup[], tests: object[], evaluationInterval = '30s'): PromtoolRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-promtool-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
    // Without an order promtool evaluates the groups in random order, so an alert reading a
    // recording of another group would see this or the previous evaluation's value by chance.
    const order = groups.map((g) => g.name);
    fs.writeFileSync(path.join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: evaluationInterval, group_eval_order: order, tests }, { lineWidth: 0 }));
    const r = spawnSync(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}${r.error ? r.error.message : ''}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function promtoolCheckRules(promtool: string, groups: RuleGroup[]): PromtoolRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-rules-'));
  try {
    const file = path.join(dir, 'rules.yaml');
    fs.writeFileSync(file, stringify({ groups }, { lineWidth: 0 }));
    const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Counter samples, one per interval: `perStep[i]` is added at step i+1 (step 0 is `start`). */
export function counter(perStep: readonly number[], start = 0): string {
  const values = [start];
  for (const d of perStep) values.push(values[values.length - 1]! + d);
  return values.join(' ');
}

/** `n` steps of `d` each. */
export function steps(d: number, n: number): number[] {
  return Array.from({ length: n }, () => d);
}

/** A promtool input series line. */
export function series(metric: string, labels: Record<string, string>, values: string): { series: string; values: string } {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return { series: `${metric}{${l}}`, values };
}
