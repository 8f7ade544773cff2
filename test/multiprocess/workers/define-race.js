// node define-race.js REGION ID COUNT: defines COUNT shared and COUNT own names, interleaved, all at once
// with the other workers, then reports the slot of every shared name as this process sees it.
const { Metrics } = require('../../../dist');
const { waitForGo } = require('./barrier');

const [path, idText, countText] = process.argv.slice(2);
const id = Number(idText);
const count = Number(countText);
const metrics = Metrics.open({ path, create: false });

waitForGo(metrics);
for (let i = 0; i < count; i++) {
  metrics.define(`name=race.shared.${i},type=gauge`);
  metrics.define(`race.own.${id}.${i}`);
}
// Look only once every worker has finished defining.
metrics.inc('barrier.defined');
while (metrics.get('barrier.defined') < 4) {
  // spin
}
const slots = {};
for (const info of metrics.list()) if (info.name.startsWith('race.shared.')) slots[info.name] = info.slot;
const missing = [];
for (let w = 0; w < 4; w++) for (let i = 0; i < count; i++) if (!metrics.has(`race.own.${w}.${i}`)) missing.push(`race.own.${w}.${i}`);
process.stdout.write(JSON.stringify({ id, slots, missing }) + '\n');
