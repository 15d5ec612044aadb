// Jest config for the tests that need the ephemeral control plane (run by scripts/test-k8s.sh).
const fs = require('node:fs');
const path = require('node:path');

const rootDir = path.resolve(__dirname, '..', '..');

// @kubernetes/client-node and several of its dependencies ship only ES modules, which Jest's
// CommonJS loader cannot require on Node 20, so every "type": "module" package is compiled
// like our own sources.
function esmPackages(dir = path.join(rootDir, 'node_modules')) {
  return fs.readdirSync(dir).flatMap((name) => {
    if (name.startsWith('@')) return esmPackages(path.join(dir, name)).map((p) => `${name}/${p}`);
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8'));
      return pkg.type === 'module' ? [name] : [];
    } catch {
      return [];
    }
  });
}
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @type {import('jest').Config} */
module.exports = {
  rootDir,
  roots: ['<rootDir>/test/k8s'],
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)sx?$': [
      'ts-jest',
      { tsconfig: { isolatedModules: true, allowJs: true, module: 'commonjs', moduleResolution: 'node10', target: 'es2022', esModuleInterop: true } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escape).join('|')})/)`],
  testTimeout: 120000,
  maxWorkers: 1,
};
