// Reads a --prom-file in a tight loop for a while, as node_exporter would, and reports what it saw:
// {"reads":N,"torn":[...first few bad reads...],"distinct":D}. A read is whole when it is the complete
// exposition: it starts with the first HELP line and ends with the last sample's newline.
const fs = require('node:fs');

const [file, ms, lastLine] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const deadline = Date.now() + ms;
let reads = 0;
const torn = [];
const seen = new Set();
while (Date.now() < deadline) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    torn.push(`read failed: ${error.code}`);
    continue;
  }
  reads++;
  seen.add(text.length);
  const whole = text.startsWith('# HELP ') && text.endsWith('\n') && text.includes(lastLine);
  if (!whole && torn.length < 5) torn.push(text.slice(-80));
}
process.stdout.write(JSON.stringify({ reads, torn, distinct: seen.size }) + '\n');
