/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The API-server suite and the node suite have their own configs: npm run test:k8s, test:node.
  testPathIgnorePatterns: ['/node_modules/', '/test/k8s/', '/test/node/'],
  // Transpile only: `npm run typecheck` (tsc) checks types once for the whole tree.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs', moduleResolution: 'node10', target: 'es2022', esModuleInterop: true, sourceMap: true } }] },
  testTimeout: 30000,
  maxWorkers: 2,
};
