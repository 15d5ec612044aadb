/** A command line a CLI cannot use; the message is the sentence it prints (with exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Flags<V extends string, S extends string> {
  readonly values: Partial<Record<V, string>>;
  readonly switches: Readonly<Record<S, boolean>>;
}

/**
 * The CLIs' one flag loop: value flags as `--flag value` or `--flag=value`, switches bare,
 * `-h`/`--help` anywhere returns 'help'. A value may not be empty nor, given separately,
 * start with `--` (that is the next flag: the value was forgotten); a flag may not be given
 * twice; anything else is a UsageError naming the argument.
 */
export function parseFlags<V extends string, S extends string>(argv: readonly string[], spec: { readonly values: readonly V[]; readonly switches: readonly S[] }): Flags<V, S> | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const values: Partial<Record<V, string>> = {};
  const switches = Object.fromEntries(spec.switches.map((s) => [s, false])) as Record<S, boolean>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (name !== undefined && m?.[2] === undefined && (spec.switches as readonly string[]).includes(name)) {
      switches[name as S] = true;
      continue;
    }
    if (name === undefined || !(spec.values as readonly string[]).includes(name)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}; see --help`);
    const value = m![2] ?? argv[++i];
    if (value === undefined || value === '' || (m![2] === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (values[name as V] !== undefined) throw new UsageError(`--${name} given twice`);
    values[name as V] = value;
  }
  return { values, switches };
}
