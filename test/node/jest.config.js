// Jest config for the local Kubernetes node suite (scripts/test-node.sh): it brings up a real
// node, installs kube-prometheus-stack, applies manifests/, runs scripts/cluster-smoke.sh and
// tears everything down, so its tests run in order, alone, with long timeouts.
const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: path.resolve(__dirname, '..', '..'),
  roots: ['<rootDir>/test/node'],
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs', moduleResolution: 'node10', target: 'es2022', esModuleInterop: true } }] },
  testTimeout: 1_800_000,
  maxWorkers: 1,
};
