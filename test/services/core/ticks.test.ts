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
    ['a fractional sequence', JSON.stringify({ ...coinbase, sequence: 1.5 }), 'sequence'],
    ['a missing field', JSON.stringify({ ...coinbase, best_bid: undefined }), 'best_bid'],
  ])('rejects %s with a TickSchemaError naming the field', (_name, text, field) => {
    try {
      parseTick(text);
      throw new Error('expected a TickSchemaError');
    } catch (err) {
      expect(err).toBeInstanceOf(TickSchemaError);
      expect((err as TickSchemaError).field).toBe(field);
    }
  });
});
