// node open-each.js FILE...: opens each file as a region and, when it opens, reads everything a user can
// (list, snapshot, every value); prints one line per file: "FILE ok N" or "FILE refused <error name>".
// A crash (signal) of this process is what the test looks for.
const { Metrics } = require('../../../dist');

for (const file of process.argv.slice(2)) {
  let m;
  try {
    m = Metrics.open({ path: file, create: false });
    const snapshot = m.snapshot();
    for (const info of snapshot.metrics) {
      if (info.type === 'histogram') snapshot.histogram(info).quantile(0.5);
      else m.get(info.name);
    }
    m.counter(`fuzz.${process.pid}`).inc();
    process.stdout.write(`${file} ok ${snapshot.metrics.length}\n`);
  } catch (error) {
    process.stdout.write(`${file} refused ${error.name}: ${String(error.message).split('\n')[0]}\n`);
  } finally {
    try {
      m?.close();
    } catch {
      // closing a half-opened region
    }
  }
}
