// onnxruntime-node's native binding accepts only typed arrays of the main realm, and
// jest gives every test file its own realm (jestjs/jest#2549, microsoft/onnxruntime#16622).
// Sharing the host's typed-array constructors makes the services run under jest as in production.
//
// Each test file also gets a temporary directory of its own as TMPDIR (os.tmpdir() in the
// file and in every process it starts), removed when the file ends: nothing a test writes
// to a temporary directory outlives the run.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    // Before super(): the test realm's process.env is a copy taken there.
    const previousTmpdir = process.env.TMPDIR;
    const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-test-'));
    process.env.TMPDIR = tmpdir;
    super(config, context);
    this.tmpdir = tmpdir;
    this.previousTmpdir = previousTmpdir;
    for (const name of SHARED) this.global[name] = globalThis[name];
  }

  async teardown() {
    if (this.previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.previousTmpdir;
    fs.rmSync(this.tmpdir, { recursive: true, force: true, maxRetries: 3 });
    await super.teardown();
  }
}

module.exports = HostTypedArraysEnvironment;
