import { DLQ_HEADERS, batchBySize, deadLetterRecord } from '../../../services/consumer/dead-letters';
import { MalformedTickError } from '../../../services/consumer/errors';
import { record } from './support';

const dl = (offset: number, value: string | Buffer | null, key?: string) => ({ message: record(offset, value, key), reason: 'malformed' as const, error: new MalformedTickError('not valid JSON: x') });

test('dead-letter records carry the original bytes and coordinates', () => {
  const r = deadLetterRecord('ticks', 2, dl(42, 'nope'), new Date(0), 1000);
  expect(r.message.value?.toString()).toBe('nope');
  expect(r.message.key?.toString()).toBe('BTC-USD');
  expect(r.message.headers).toMatchObject({
    [DLQ_HEADERS.topic]: 'ticks',
    [DLQ_HEADERS.partition]: '2',
    [DLQ_HEADERS.offset]: '42',
    [DLQ_HEADERS.reason]: 'malformed',
    [DLQ_HEADERS.errorClass]: 'MalformedTickError',
    [DLQ_HEADERS.errorMessage]: 'not valid JSON: x',
  });
  expect(r.message.headers).not.toHaveProperty(DLQ_HEADERS.valueTruncated);
});

test('a value longer than the limit is cut and marked with its original size; so is a huge key', () => {
  const r = deadLetterRecord('ticks', 0, dl(1, Buffer.alloc(5000, 'x'), 'k'.repeat(4000)), new Date(0), 1024);
  expect((r.message.value as Buffer).length).toBe(1024);
  expect(r.message.headers![DLQ_HEADERS.valueTruncated]).toBe('5000');
  expect((r.message.key as Buffer).length).toBe(1024);
  expect(r.message.headers![DLQ_HEADERS.keyTruncated]).toBe('4000');
  expect(r.bytes).toBeGreaterThan(2048);
  expect(r.bytes).toBeLessThan(2048 + 1000);
});

test('batches stay under the byte limit, in order, and a large record travels alone', () => {
  const records = [10, 10, 10, 50, 10].map((kb, i) => deadLetterRecord('t', 0, dl(i, Buffer.alloc(kb * 1024)), new Date(0), 1e9));
  const batches = batchBySize(records, 32 * 1024);
  expect(batches.map((b) => b.map((r) => r.message.headers![DLQ_HEADERS.offset]))).toEqual([['0', '1', '2'], ['3'], ['4']]);
  for (const b of batches) if (b.length > 1) expect(b.reduce((s, r) => s + r.bytes, 0)).toBeLessThanOrEqual(32 * 1024);
});
