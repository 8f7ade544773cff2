// node default-instance.js [child]: uses the ready-made `metrics` with no setup. The parent run also
// starts a child process, which must land in the same region through the inherited environment.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { metrics } = require('../../../dist');

metrics.inc('worker.1.requests');
if (process.argv[2] === 'child') {
  metrics.inc('from.child', 5);
  process.exit(0);
}
const region = metrics.path;
const child = spawnSync(process.execPath, [__filename, 'child'], { stdio: 'inherit' });
process.stdout.write(
  JSON.stringify({
    region,
    env: process.env.SHMETRICS_REGION,
    existed: fs.existsSync(region),
    requests: metrics.get('worker.1.requests'),
    fromChild: metrics.get('from.child'),
    childStatus: child.status,
  }) + '\n',
);
