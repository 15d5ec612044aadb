import { DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_SECONDS, parseArgs, UsageError } from '../../../services/rollback/options';

describe('rollback CLI arguments', () => {
  test('--to alone rolls the default ConfigMap in namespace volwatch, waiting 120 s', () => {
    expect(parseArgs(['--to', 'baseline'])).toEqual({
      to: 'baseline',
      namespace: DEFAULT_NAMESPACE,
      configMap: DEFAULT_CONFIGMAP,
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      dryRun: false,
    });
    expect([DEFAULT_NAMESPACE, DEFAULT_CONFIGMAP, DEFAULT_TIMEOUT_SECONDS]).toEqual(['volwatch', 'volwatch-model-variant', 120]);
  });

  test('every flag is accepted as "--flag value" and "--flag=value"', () => {
    const expected = {
      to: 'ml',
      namespace: 'prod',
      configMap: 'other-variant',
      context: 'kind-volwatch',
      kubeconfig: '/tmp/kc',
      timeoutSeconds: 2.5,
      dryRun: true,
    };
    expect(
      parseArgs(['--to', 'ml', '--namespace', 'prod', '--configmap', 'other-variant', '--context', 'kind-volwatch', '--kubeconfig', '/tmp/kc', '--timeout', '2.5', '--dry-run']),
    ).toEqual(expected);
    expect(
      parseArgs(['--to=ml', '--namespace=prod', '--configmap=other-variant', '--context=kind-volwatch', '--kubeconfig=/tmp/kc', '--timeout=2.5', '--dry-run']),
    ).toEqual(expected);
  });

  test('--help wins over everything else', () => {
    expect(parseArgs(['--to', 'nonsense', '--help'])).toBe('help');
    expect(parseArgs(['-h'])).toBe('help');
  });

  test.each([
    [[], /--to is required/],
    [['--to', 'previous'], /--to must be "ml" or "baseline", got "previous"/],
    [['--to', 'ML'], /--to must be "ml" or "baseline"/],
    [['--to'], /--to needs a value/],
    [['--to', '--dry-run'], /--to needs a value/],
    [['--to', 'ml', '--to', 'baseline'], /--to given twice/],
    [['--to', 'ml', '--namespace', 'Volwatch'], /--namespace "Volwatch" is not a valid namespace name/],
    [['--to', 'ml', '--namespace', 'a.b'], /not a valid namespace name/],
    [['--to', 'ml', '--configmap', 'bad_name'], /--configmap "bad_name" is not a valid ConfigMap name/],
    [['--to', 'ml', '--timeout', '0'], /--timeout must be a number of seconds/],
    [['--to', 'ml', '--timeout', '-5'], /--timeout must be a number of seconds/],
    [['--to', 'ml', '--timeout', '2m'], /--timeout must be a number of seconds between 0 and 3600, got "2m"/],
    [['--to', 'ml', '--timeout', '7200'], /--timeout must be a number of seconds/],
    [['--to', 'ml', '--force'], /unknown argument "--force"/],
    [['baseline'], /unknown argument "baseline"/],
  ])('%j is refused with a sentence', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
