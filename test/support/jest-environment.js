// onnxruntime-node's native binding accepts only typed arrays of the main realm, and
// jest gives every test file its own realm (jestjs/jest#2549, microsoft/onnxruntime#16622).
// Sharing the host's typed-array constructors makes the services run under jest as in production.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = HostTypedArraysEnvironment;
