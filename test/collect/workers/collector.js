// node collector.js REGION MODE [BLOCK_SECONDS]: collects REGION (MODE owner|standby), reporting its events
// as JSON lines; with BLOCK_SECONDS, blocks its own event loop that long once it collects.
const { Metrics } = require('../../../dist');

const [path, mode, blockSeconds] = process.argv.slice(2);
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');
let metrics;
try {
  metrics = Metrics.open({ path, create: false, collect: mode === 'standby' ? 'standby' : true });
} catch (error) {
  say({ type: 'error', name: error.name, message: error.message });
  process.exit(3);
}
metrics.on('log', (message) => say({ type: 'log', message }));
metrics.on('collecting', ({ tookOver }) => {
  say({ type: 'collecting', tookOver, pid: process.pid });
  if (blockSeconds) {
    const until = Date.now() + Number(blockSeconds) * 1000;
    say({ type: 'blocking' });
    while (Date.now() < until) {
      // a JavaScript event loop that does not come back
    }
    say({ type: 'unblocked' });
  }
});
say({ type: 'started', pid: process.pid });
setInterval(() => {}, 1000);
