import { PartitionTracker, continuesAt } from '../../../services/consumer/partitions';

test('a new assignment revokes what it drops and starts new partitions fresh', () => {
  const t = new PartitionTracker();
  expect(t.assign([0, 1])).toEqual([]);
  expect(t.get(0)!.mode).toBe('fresh');
  Object.assign(t.get(1)!, { mode: 'scoring', nextOffset: 10, rejoined: false });
  expect(t.assign([1, 2])).toEqual([0]);
  expect(t.owned()).toEqual([1, 2]);
  expect(t.get(1)).toMatchObject({ mode: 'scoring', rejoined: true });
});

test('a restore cut short by a rebalance starts over', () => {
  const t = new PartitionTracker();
  t.assign([0]);
  Object.assign(t.get(0)!, { mode: 'restoring', restore: { target: 5 } });
  expect(t.restoring).toBe(1);
  t.assign([0]);
  expect(t.get(0)).toMatchObject({ mode: 'fresh', restore: undefined });
  expect(t.restoring).toBe(0);
});

test('windows continue on a gap within a generation, never on a step back, and only exactly after a rejoin', () => {
  const s = { partition: 0, mode: 'scoring' as const, nextOffset: 100, rejoined: false, scoredThrough: 100 };
  expect(continuesAt(s, 100)).toBe(true);
  expect(continuesAt(s, 103)).toBe(true); // control records or retention
  expect(continuesAt(s, 99)).toBe(false); // redelivery: the windows already hold it
  expect(continuesAt({ ...s, rejoined: true }, 100)).toBe(true);
  expect(continuesAt({ ...s, rejoined: true }, 103)).toBe(false); // someone else moved on meanwhile
  expect(continuesAt({ ...s, mode: 'fresh' }, 100)).toBe(false);
});
