// node define-one.js REGION SPEC: defines one metric and prints how long it took.
const { Metrics } = require('../../../dist');

const [path, spec] = process.argv.slice(2);
const metrics = Metrics.open({ path, create: false });
process.stdout.write('attached\n');
const started = Date.now();
metrics.define(spec);
process.stdout.write(JSON.stringify({ ms: Date.now() - started }) + '\n');
