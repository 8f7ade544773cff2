/**
 * `npm start`: the main job on embedded defaults. A master with 2 demo HTTP workers (instrumented, loading
 * themselves), the built-in metrics (system.* read from /proc/loadavg, /proc/meminfo, /proc/stat by file
 * collectors), the metrics-dir in ./metrics-dir (restored at the next start), SNMP on 127.0.0.1:1161
 * (community "public") and the HTTP face on 127.0.0.1:9100. It prints what to try,
 * then runs until Ctrl-C, or for $SHMETRICS_DEMO_SECONDS.
 */

import path from 'node:path';
import { Metrics } from '../metrics';
import { runMaster } from '../master/master';
import { resolveMasterConfig } from '../master/options';

/** $SHMETRICS_DEMO_NAME lets a test run a demo beside a person's; the region is /dev/shm/shmetrics-<name>. */
const REGION = process.env.SHMETRICS_DEMO_NAME || 'demo';
const STATUS_EVERY_MS = 5000;
/** Where the demo's SNMP agent and HTTP face listen; a test sets them to port 0 to run beside a person's demo. */
const SNMP_ADDRESS = process.env.SHMETRICS_DEMO_SNMP || '127.0.0.1:1161';
const HTTP_ADDRESS = process.env.SHMETRICS_DEMO_HTTP || '127.0.0.1:9100';

function demoArgs(): string[] {
  return [
    '--name', REGION,
    '--processes', '2',
    '--metrics-dir', path.resolve('metrics-dir'),
    '--metrics-dir-restore',
    '--metric', 'name=loadavg,type=gauge,collector=file,arg1=/proc/loadavg,arg2n=100',
    '--metric', 'name=demo.requests,collector=sum,children=worker.1.requests;worker.2.requests',
    // The demo enables the community "public" explicitly, on loopback only.
    '--snmp', SNMP_ADDRESS, '--snmp-community', 'public',
    '--http', HTTP_ADDRESS, '--http-label-from', 'worker',
    '--', process.execPath, path.join(__dirname, 'http-worker.js'),
  ];
}

function seconds(): number | undefined {
  const text = process.env.SHMETRICS_DEMO_SECONDS;
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`SHMETRICS_DEMO_SECONDS ${JSON.stringify(text)} must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  const duration = seconds();
  const args = demoArgs();
  const config = resolveMasterConfig(args, {});
  const cli = path.relative(process.cwd(), path.join(__dirname, '..', 'cli', 'main.js'));
  const shown = args.map((a) => (/[\s;]/.test(a) ? `'${a}'` : a)).join(' ');
  console.log(`shmetrics demo: the same as  node ${cli} ${shown}\n`);
  const running = runMaster(config);

  const viewer = Metrics.open({ path: config.region!, create: false });
  const ports = await waitForPorts(viewer);
  console.log(
    [
      `2 workers serve ${ports.map((p) => `http://127.0.0.1:${p}/`).join(' and ')}, loading themselves with requests.`,
      'Try, from another terminal:',
      `  cat metrics-dir/loadavg metrics-dir/system.load1 metrics-dir/worker.1.requests`,
      `  node ${cli} ls --region ${config.region} worker.1`,
      `  curl http://127.0.0.1:${ports[0]}/ ; curl http://127.0.0.1:${ports[0]}/fail`,
      `  snmpget -v2c -c public ${SNMP_ADDRESS} 1.3.6.1.4.1.35156.17.3.1.1      # worker.1.requests`,
      `  snmpwalk -v2c -c public ${SNMP_ADDRESS} 1.3.6.1.4.1.35156.17.10       # system.*`,
      `  curl http://${HTTP_ADDRESS}/metrics ; open http://${HTTP_ADDRESS}/status in a browser`,
      `Ctrl-C stops it; the next npm start resumes the counts from metrics-dir/.`,
      '',
    ].join('\n'),
  );
  const status = setInterval(() => {
    const get = (name: string) => viewer.get(name);
    console.log(
      `requests: worker 1 ${get('worker.1.requests')}, worker 2 ${get('worker.2.requests')} ` +
        `(demo.requests, their sum collected each second: ${get('demo.requests')}); ` +
        `failed ${get('worker.1.failed_requests') + get('worker.2.failed_requests')}; ` +
        `avg response ${get('core.avg_response_time')} µs; load ${(get('system.load1') / 100).toFixed(2)}`,
    );
  }, STATUS_EVERY_MS);
  status.unref();
  if (duration !== undefined) setTimeout(() => process.kill(process.pid, 'SIGTERM'), duration * 1000).unref();

  process.exitCode = await running;
  clearInterval(status);
  viewer.close();
}

async function waitForPorts(viewer: Metrics): Promise<number[]> {
  const names = ['demo.worker.1.port', 'demo.worker.2.port'];
  for (;;) {
    if (names.every((n) => viewer.has(n) && viewer.get(n) > 0)) return names.map((n) => viewer.get(n));
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((error: Error) => {
  process.stderr.write(`shmetrics demo: ${error.message}\n`);
  process.exit(2);
});
