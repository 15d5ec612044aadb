/**
 * Validates manifests against real schemas: core kinds through the
 * `kubernetes-models` OpenAPI validators, monitoring.coreos.com kinds through
 * the openAPIV3Schema of the prometheus-operator CRD files.
 *
 *   npx tsx cdk8s/validate.ts [--json] [--crds DIR] [MANIFEST_DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

export const CRD_VERSION = 'v0.93.0';
export const DEFAULT_CRD_DIR = path.resolve(__dirname, '..', '..', 'shared', 'crds', `prometheus-operator-${CRD_VERSION}`);

export interface ObjectReport {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  /** 'kubernetes-models' or the CRD file name. */
  readonly schema: string;
  readonly errors: readonly string[];
}

type Obj = Record<string, any>;

export function loadManifestDir(dir: string): { file: string; obj: Obj }[] {
  if (!fs.existsSync(dir)) throw new Error(`manifest directory ${dir} does not exist: run npm run synth first`);
  const out: { file: string; obj: Obj }[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: YAML error: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as Obj | null;
      if (obj !== null) out.push({ file, obj });
    }
  }
  return out;
}

/**
 * The API server prunes (and, with strict field validation, rejects) fields a
 * structural schema does not declare; ajv would accept them, so close every
 * object schema that does not explicitly keep unknown fields.
 */
function closeSchema(s: any): any {
  if (Array.isArray(s)) return s.map(closeSchema);
  if (s === null || typeof s !== 'object') return s;
  const out: any = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, closeSchema(pv)])) : closeSchema(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * CRD patterns are Go RE2; JavaScript lacks the inline `(?i)` flag, so apply it
 * to the whole pattern (slightly more permissive than Go, never stricter).
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string): RegExp => (pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags)),
  { code: 'goRegExp' },
);

export class CrdValidator {
  private readonly schemas = new Map<string, { schema: Obj; file: string }>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly ajv: Ajv;

  constructor(readonly crdDir: string = process.env.VOLWATCH_CRD_DIR ?? DEFAULT_CRD_DIR) {
    if (!fs.existsSync(crdDir)) {
      throw new Error(`CRD directory ${crdDir} not found: check out ../shared/crds beside the repository or set VOLWATCH_CRD_DIR`);
    }
    this.ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: goRegExp } });
    addFormats(this.ajv);
    for (const f of ['int32', 'int64', 'byte', 'double', 'float']) this.ajv.addFormat(f, true);
    for (const file of fs.readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
      for (const doc of parseAllDocuments(fs.readFileSync(path.join(crdDir, file), 'utf8'))) {
        const crd = doc.toJS() as Obj | null;
        if (crd?.kind !== 'CustomResourceDefinition') continue;
        for (const v of crd.spec.versions as Obj[]) {
          const schema = closeSchema(v.schema.openAPIV3Schema);
          // metadata is validated by the API server itself, not by the CRD schema.
          schema.properties.metadata = { type: 'object' };
          // Compiled on first use: some CRDs carry Go-only regex syntax, e.g. (?i), in kinds we never emit.
          this.schemas.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { schema, file });
        }
      }
    }
    if (this.schemas.size === 0) throw new Error(`no CustomResourceDefinition found in ${crdDir}`);
  }

  handles(obj: Obj): boolean {
    return typeof obj.apiVersion === 'string' && obj.apiVersion.includes('.') && this.schemas.has(`${obj.apiVersion}/${obj.kind}`);
  }

  validate(file: string, obj: Obj): ObjectReport {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const v = this.schemas.get(key);
    const base = { file, kind: String(obj.kind), name: String(obj.metadata?.name) };
    if (!v) return { ...base, schema: 'none', errors: [`no CRD in ${this.crdDir} defines ${obj.apiVersion} ${obj.kind}`] };
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = this.ajv.compile(v.schema);
      this.compiled.set(key, fn);
    }
    const ok = fn(obj);
    const errors = ok ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${e.params.additionalProperty}` : ''}`);
    return { ...base, schema: v.file, errors };
  }
}

/** Core kinds through kubernetes-models (ESM-only: loaded with a dynamic import). */
export async function validateCore(file: string, obj: Obj): Promise<ObjectReport> {
  const base = { file, kind: String(obj.kind), name: String(obj.metadata?.name), schema: 'kubernetes-models' };
  const apiVersion = String(obj.apiVersion);
  if (apiVersion.includes('.') && !apiVersion.endsWith('.k8s.io/v1')) {
    return { ...base, errors: [`${apiVersion} ${obj.kind} is neither a core kind nor a known CRD kind`] };
  }
  const spec = `kubernetes-models/${apiVersion}/${obj.kind}`;
  let mod: Record<string, any>;
  try {
    mod = (await import(spec)) as Record<string, any>;
  } catch {
    return { ...base, errors: [`kubernetes-models has no ${apiVersion} ${obj.kind}`] };
  }
  const Model = mod[String(obj.kind)];
  try {
    new Model(obj).validate();
    return { ...base, errors: [] };
  } catch (err) {
    const e = err as { errors?: { instancePath: string; message?: string }[]; message: string };
    return { ...base, errors: e.errors?.map((x) => `${x.instancePath || '/'} ${x.message}`) ?? [e.message] };
  }
}

export async function validateDir(dir: string, crdDir?: string): Promise<ObjectReport[]> {
  const crds = new CrdValidator(crdDir);
  const reports: ObjectReport[] = [];
  for (const { file, obj } of loadManifestDir(dir)) {
    reports.push(crds.handles(obj) || String(obj.apiVersion).startsWith('monitoring.coreos.com/') ? crds.validate(file, obj) : await validateCore(file, obj));
  }
  return reports;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { json: { type: 'boolean' }, crds: { type: 'string' } }, allowPositionals: true });
  const dir = path.resolve(positionals[0] ?? path.join(__dirname, '..', 'manifests'));
  let reports: ObjectReport[];
  try {
    reports = await validateDir(dir, values.crds);
  } catch (err) {
    process.stderr.write(`validate: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const bad = reports.filter((r) => r.errors.length > 0);
  if (values.json) process.stdout.write(`${JSON.stringify(reports)}\n`);
  else {
    for (const r of reports) process.stdout.write(`${r.errors.length ? 'FAIL' : 'ok  '} ${r.file} ${r.kind}/${r.name} (${r.schema})${r.errors.map((e) => `\n     ${e}`).join('')}\n`);
    process.stdout.write(`${reports.length - bad.length}/${reports.length} objects valid\n`);
  }
  process.exit(bad.length ? 1 : 0);
}

if (require.main === module) void main();
