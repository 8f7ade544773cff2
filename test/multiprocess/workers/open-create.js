// node open-create.js REGION ID: creates-or-attaches at the same moment as other processes, defines one
// metric of its own and one shared one, and reports the region's creation time.
const { Metrics } = require('../../../dist');

const [path, id] = process.argv.slice(2);
const startAt = Number(process.env.START_AT);
while (Date.now() < startAt) {
  // wait for the common start instant
}
const metrics = Metrics.open({ path, capacity: 256 });
metrics.counter('opened').inc();
process.stdout.write(JSON.stringify({ id, created: metrics.info().createdUnixMs }) + '\n');
