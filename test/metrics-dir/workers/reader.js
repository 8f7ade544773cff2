// node reader.js DIR MS NAME=ALLOWED,ALLOWED... : reads the files in a tight loop for MS milliseconds and
// reports every read that is not exactly one of the allowed contents.
const fs = require('node:fs');
const path = require('node:path');

const [dir, ms, ...specs] = process.argv.slice(2);
const files = specs.map((spec) => {
  const [name, allowed] = spec.split('=');
  return { file: path.join(dir, name), allowed: new Set(allowed.split(',').map((v) => `${v}\n`)) };
});
let reads = 0;
const bad = [];
const until = Date.now() + Number(ms);
while (Date.now() < until) {
  for (const { file, allowed } of files) {
    const text = fs.readFileSync(file, 'utf8');
    reads++;
    if (!allowed.has(text) && bad.length < 10) bad.push(text);
  }
}
process.stdout.write(JSON.stringify({ reads, bad }) + '\n');
