import { parseFlags, UsageError } from '../../../services/core/cli-flags';

const spec = { values: ['to', 'out'], switches: ['dry-run'] } as const;

test('value flags take the next argument or =value; switches stand alone', () => {
  expect(parseFlags(['--to', 'ml', '--out=a=b', '--dry-run'], spec)).toEqual({ values: { to: 'ml', out: 'a=b' }, switches: { 'dry-run': true } });
  expect(parseFlags([], spec)).toEqual({ values: {}, switches: { 'dry-run': false } });
});

test('--help or -h anywhere asks for the usage', () => {
  expect(parseFlags(['--to', 'ml', '-h'], spec)).toBe('help');
  expect(parseFlags(['--bogus', '--help'], spec)).toBe('help');
});

test.each([
  [['--to'], '--to needs a value'],
  [['--to', '--dry-run'], '--to needs a value'],
  [['--to='], '--to needs a value'],
  [['--to', 'ml', '--to', 'baseline'], '--to given twice'],
  [['--force'], 'unknown argument "--force"; see --help'],
  [['baseline'], 'unknown argument "baseline"; see --help'],
  [['--dry-run=yes'], 'unknown argument "--dry-run=yes"; see --help'],
])('%j is refused with a sentence', (argv, message) => {
  expect(() => parseFlags(argv, spec)).toThrow(UsageError);
  expect(() => parseFlags(argv, spec)).toThrow(message);
});
