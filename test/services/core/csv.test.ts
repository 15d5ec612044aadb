import { splitCsvLine } from '../../../services/core/csv';

test('splits on commas and trims each field', () => {
  expect(splitCsvLine('BTC-USD, 100.5 ,2')).toEqual(['BTC-USD', '100.5', '2']);
});

test('keeps commas and doubled quotes inside quoted fields', () => {
  expect(splitCsvLine('"a,b","say ""hi""",c')).toEqual(['a,b', 'say "hi"', 'c']);
});

test('keeps empty fields, at either end too', () => {
  expect(splitCsvLine(',x,,')).toEqual(['', 'x', '', '']);
  expect(splitCsvLine('')).toEqual(['']);
});

test('an unterminated quote runs to the end of the line', () => {
  expect(splitCsvLine('a,"b,c')).toEqual(['a', 'b,c']);
});
