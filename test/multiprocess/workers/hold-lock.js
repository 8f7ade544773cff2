// node hold-lock.js REGION [PARTIAL_NAME]: takes the registration lock and keeps it (optionally after
// writing half a registration), as a process would that is killed in the middle of define().
const { addon } = require('../../../dist/native');

const [path, partial] = process.argv.slice(2);
const region = new addon.NativeRegion(path, false, {});
region.holdRegistrationLockForTest(partial);
process.stdout.write('locked\n');
setInterval(() => {}, 1000);
