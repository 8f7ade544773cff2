// node inc-and-wait.js REGION NAME COUNT: adds COUNT to a counter, reports, then waits to be killed.
const { Metrics } = require('../../../dist');

const [path, name, countText] = process.argv.slice(2);
const metrics = Metrics.open({ path, create: false });
const counter = metrics.counter(name);
for (let i = 0; i < Number(countText); i++) counter.inc();
process.stdout.write(JSON.stringify({ lane: metrics.info().lane }) + '\n');
setInterval(() => {}, 1000);
