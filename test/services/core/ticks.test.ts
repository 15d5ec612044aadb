import { TickSchemaError, parseTick, tickToWire } from '../../../services/core/ticks';

const coinbase = {
  type: 'ticker',
  product_id: 'BTC-USD',
  price: '64123.45',
  best_bid: '64123.40',
  best_ask: '64123.50',
  last_size: '0.0123',
  time: '2026-01-01T00:00:01.250Z',
  sequence: 1234567,
};

describe('parseTick', () => {
  it('accepts a Coinbase ticker message with numbers as strings', () => {
    expect(parseTick(JSON.stringify(coinbase))).toEqual({
      productId: 'BTC-USD', price: 64123.45, bestBid: 64123.4, bestAsk: 64123.5, lastSize: 0.0123, timeMs: Date.parse(coinbase.time), sequence: 1234567,
    });
  });

  it('round-trips through the wire format', () => {
    const t = parseTick(JSON.stringify(coinbase));
    expect(parseTick(JSON.stringify(tickToWire(t)))).toEqual(t);
  });

  it.each([
    ['not JSON', '{"product_id":', undefined],
    ['an array', '[1,2]', undefined],
    ['a bad product id', JSON.stringify({ ...coinbase, product_id: 'btc' }), 'product_id'],
    ['a negative price', JSON.stringify({ ...coinbase, price: -1 }), 'price'],
    ['a non-numeric size', JSON.stringify({ ...coinbase, last_size: 'lots' }), 'last_size'],
    ['a crossed book', JSON.stringify({ ...coinbase, best_bid: '2', best_ask: '1' }), 'best_ask'],
    ['a bad time', JSON.stringify({ ...coinbase, time: 'yesterday' }), 'time'],
    ['a time that is a bare number (Date.parse: 2001-01-01)', JSON.stringify({ ...coinbase, time: '1' }), 'time'],
    ['February 30 (Date.parse: March 2)', JSON.stringify({ ...coinbase, time: '2026-02-30T00:00:00Z' }), 'time'],
    ['a time of 24:00', JSON.stringify({ ...coinbase, time: '2026-12-01T24:00:00Z' }), 'time'],
    ['a date without a time', JSON.stringify({ ...coinbase, time: '2026-12-01' }), 'time'],
    ['a time without a zone (local time is ambiguous)', JSON.stringify({ ...coinbase, time: '2026-12-01T10:00:00' }), 'time'],
    ['an HTTP date', JSON.stringify({ ...coinbase, time: 'Tue, 01 Dec 2026 10:00:00 GMT' }), 'time'],
    ['an epoch number', JSON.stringify({ ...coinbase, time: 1796119200000 }), 'time'],
    ['a fractional sequence', JSON.stringify({ ...coinbase, sequence: 1.5 }), 'sequence'],
    ['a missing field', JSON.stringify({ ...coinbase, best_bid: undefined }), 'best_bid'],
    ['a trade size beyond any market (1.7e308)', JSON.stringify({ ...coinbase, last_size: 1.7e308 }), 'last_size'],
    ['a trade size just above the domain', JSON.stringify({ ...coinbase, last_size: 1.000001e12 }), 'last_size'],
    ['a price above the domain', JSON.stringify({ ...coinbase, price: '1e13' }), 'price'],
    ['a price below the domain', JSON.stringify({ ...coinbase, price: '1e-13' }), 'price'],
    ['a bid of 1e300', JSON.stringify({ ...coinbase, best_bid: 1e300, best_ask: 1e300 }), 'best_bid'],
    ['a time before 2000', JSON.stringify({ ...coinbase, time: '1999-12-31T23:59:59Z' }), 'time'],
    ['a time in the year 2100', JSON.stringify({ ...coinbase, time: '2100-01-01T00:00:00Z' }), 'time'],
  ])('rejects %s with a TickSchemaError naming the field', (_name, text, field) => {
    try {
      parseTick(text);
      throw new Error('expected a TickSchemaError');
    } catch (err) {
      expect(err).toBeInstanceOf(TickSchemaError);
      expect((err as TickSchemaError).field).toBe(field);
    }
  });

  it.each([
    ['2026-12-01T10:00:00Z', Date.UTC(2026, 11, 1, 10)],
    ['2026-12-01T10:00:00.123456Z', Date.UTC(2026, 11, 1, 10, 0, 0, 123)],
    ['2026-12-01T10:00:00.5Z', Date.UTC(2026, 11, 1, 10, 0, 0, 500)],
    ['2026-12-01 10:00:00+01:00', Date.UTC(2026, 11, 1, 9)],
    ['2026-12-01t10:00:00-05:30', Date.UTC(2026, 11, 1, 15, 30)],
    ['2028-02-29T23:59:59.999Z', Date.UTC(2028, 1, 29, 23, 59, 59, 999)],
  ])('reads the RFC 3339 time %s', (time, ms) => {
    expect(parseTick(JSON.stringify({ ...coinbase, time })).timeMs).toBe(ms);
  });

  it('accepts the edges of the domain', () => {
    const edge = { ...coinbase, price: 1e12, best_bid: 1e-12, best_ask: 1e12, last_size: 1e12, time: '2000-01-01T00:00:00Z' };
    expect(parseTick(JSON.stringify(edge))).toMatchObject({ price: 1e12, bestBid: 1e-12, lastSize: 1e12 });
    expect(parseTick(JSON.stringify({ ...coinbase, last_size: 0 })).lastSize).toBe(0);
  });
});
