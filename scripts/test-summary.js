// Adds up jest --json result files and prints the closing line CI reads:
//   tests: N passed, N failed
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
let passed = 0;
let failed = 0;
for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  passed += r.numPassedTests;
  // A suite that fails to load has no failed tests but must still count as a failure.
  failed += Math.max(r.numFailedTests, r.numFailedTestSuites);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
