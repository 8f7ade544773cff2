// node observe.js REGION SEED COUNT: records COUNT pseudo-random observations (seeded) into "latency".
const { Metrics } = require('../../../dist');

const [path, seedText, countText] = process.argv.slice(2);
const metrics = Metrics.open({ path, create: false });
const latency = metrics.histogram('latency');
let seed = Number(seedText);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
for (let i = 0; i < Number(countText); i++) latency.observe(Math.floor(Math.exp(random() * 12))); // 1 .. ~160k, log-spread
process.stdout.write('done\n');
