import { SlidingWindow } from '../../../../services/core/drift/window';

describe('SlidingWindow', () => {
  test('keeps the most recent values when full (count eviction), oldest first', () => {
    const w = new SlidingWindow(3);
    for (let i = 1; i <= 5; i++) w.push(i, 0);
    expect(w.size).toBe(3);
    expect(Array.from(w.copyTo())).toEqual([3, 4, 5]);
  });

  test('wraps around the ring buffer any number of times', () => {
    const w = new SlidingWindow(4);
    for (let i = 0; i < 103; i++) w.push(i, i);
    expect(Array.from(w.copyTo())).toEqual([99, 100, 101, 102]);
  });

  test('drops values older than maxAgeMs on push and on explicit eviction', () => {
    const w = new SlidingWindow(100, 1000);
    w.push(1, 0);
    w.push(2, 500);
    w.push(3, 1000); // value 1 is exactly 1000 ms old: still in
    expect(Array.from(w.copyTo())).toEqual([1, 2, 3]);
    w.push(4, 1501); // 1 and 2 are now older than 1000 ms
    expect(Array.from(w.copyTo())).toEqual([3, 4]);
    w.evict(10_000);
    expect(w.size).toBe(0);
    expect(w.copyTo()).toHaveLength(0);
  });

  test('age and count eviction combine after wrap-around', () => {
    const w = new SlidingWindow(3, 10);
    for (let t = 0; t < 7; t++) w.push(t, t);
    w.evict(15);
    expect(Array.from(w.copyTo())).toEqual([5, 6]);
    w.push(7, 16);
    expect(Array.from(w.copyTo())).toEqual([6, 7]);
  });

  test('rejects nonsense sizes', () => {
    expect(() => new SlidingWindow(0)).toThrow(RangeError);
    expect(() => new SlidingWindow(10, 0)).toThrow(RangeError);
  });
});
