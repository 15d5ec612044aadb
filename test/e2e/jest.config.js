// Jest config of the end-to-end alert suite (npm run test:e2e; scripts/test.sh runs it alone,
// after the other suites, against its broker).
const path = require('node:path');
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, '..', '..'),
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 10 * 60_000,
  maxWorkers: 1,
};
