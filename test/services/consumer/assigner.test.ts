import { type MemberOwnership, assignSticky } from '../../../services/consumer/assigner';

const member = (memberId: string, owned: number[] = []): MemberOwnership => ({ memberId, topics: ['ticks'], owned: { ticks: owned } });
const moved = (before: Record<string, number[]>, after: Map<string, number[]>) => {
  const owner = new Map<number, string>();
  for (const [m, ps] of Object.entries(before)) for (const p of ps) owner.set(p, m);
  let n = 0;
  for (const [m, ps] of after) for (const p of ps) if (owner.get(p) !== m) n++;
  return n;
};
const P = [0, 1, 2];

test('a fresh group is balanced', () => {
  const a = assignSticky(P, [member('b'), member('a'), member('c')], 'ticks');
  expect([...a.values()].map((l) => l.length)).toEqual([1, 1, 1]);
  expect(new Set([...a.values()].flat())).toEqual(new Set(P));
});

test('a member joining takes one partition; the others keep theirs', () => {
  const before = { a: [0, 1, 2] };
  const after = assignSticky(P, [member('a', [0, 1, 2]), member('b')], 'ticks');
  expect(moved(before, after)).toBe(1);
  expect(after.get('a')).toHaveLength(2);
  expect(after.get('b')).toHaveLength(1);
});

test('a third member joining moves one partition', () => {
  const before = { a: [0, 1], b: [2] };
  const after = assignSticky(P, [member('a', [0, 1]), member('b', [2]), member('c')], 'ticks');
  expect(moved(before, after)).toBe(1);
  expect(after.get('b')).toEqual([2]);
  expect(after.get('c')).toHaveLength(1);
});

test('a member leaving moves only its own partitions', () => {
  const before = { a: [0], b: [1], c: [2] };
  const after = assignSticky(P, [member('a', [0]), member('c', [2])], 'ticks');
  expect(moved(before, after)).toBe(1);
  expect(after.get('a')!.includes(0) && after.get('c')!.includes(2)).toBe(true);
});

test('a crashed member replaced by a new one: only the crashed member\'s partition moves', () => {
  const after = assignSticky(P, [member('a', [0]), member('b', [1]), member('z-restarted')], 'ticks');
  expect(after.get('a')).toEqual([0]);
  expect(after.get('b')).toEqual([1]);
  expect(after.get('z-restarted')).toEqual([2]);
});

test('more members than partitions: the owners keep theirs, the newcomer idles', () => {
  const after = assignSticky(P, [member('a', [0]), member('b', [1]), member('c', [2]), member('d')], 'ticks');
  expect(after.get('d')).toEqual([]);
  expect(moved({ a: [0], b: [1], c: [2] }, after)).toBe(0);
});

test('a partition claimed twice goes to one member; unknown partitions are ignored', () => {
  const after = assignSticky(P, [member('a', [0, 7]), member('b', [0, 1])], 'ticks');
  const all = [...after.values()].flat().sort();
  expect(all).toEqual(P);
  expect(after.get('a')).toContain(0);
});

test('it is deterministic whatever the member order', () => {
  const ms = [member('c', [2]), member('a', [0, 1]), member('b')];
  expect(assignSticky(P, ms, 'ticks')).toEqual(assignSticky(P, [...ms].reverse(), 'ticks'));
});
