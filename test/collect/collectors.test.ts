import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Metrics, MetricSpecError, MetricWriteError } from '../../src';
import { tempDir, tempRegionPath } from '../helpers/regions';
import { captureLog, eventually, sleep } from './helpers';

const open: Metrics[] = [];
function collecting(): Metrics {
  const m = Metrics.open({ path: tempRegionPath('collect'), collect: true });
  open.push(m);
  return m;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

/** The value once the collector has run at least once more after now. */
async function afterTick(m: Metrics, name: string): Promise<number> {
  await sleep(1300);
  return m.get(name);
}

describe('aggregate collectors (the fact sheet sample: a=22, b=17, c=-5)', () => {
  it('sum 34, avg 11, multiplier x3 117, multiplier without arg1n 0, adder +100 139, sums with initial_value and of sums', async () => {
    const m = collecting();
    for (const [name, v] of [['a', 22], ['b', 17], ['c', -5]] as const) m.gauge(name).set(v);
    m.define('name=s,collector=sum,children=a;b;c');
    m.define('name=av,collector=avg,children=a;b;c');
    m.define('name=av2,collector=avg,children=a;b');
    m.define('name=mul,collector=multiplier,children=a;b,arg1n=3');
    m.define('name=mul0,collector=multiplier,children=a;b');
    m.define('name=add,collector=adder,children=a;b,arg1n=100');
    m.define('name=si,collector=sum,children=a;b,initial_value=1000');
    m.define('name=ss,collector=sum,children=s;a');
    await eventually(() => m.get('ss'), (v) => v === 56);
    expect(Object.fromEntries(['s', 'av', 'av2', 'mul', 'mul0', 'add', 'si', 'ss'].map((n) => [n, m.get(n)]))).toEqual({
      s: 34, av: 11, av2: 19, mul: 117, mul0: 0, add: 139, si: 1039, ss: 56,
    });
  });

  it('avg truncates toward zero: avg(-7, 0) = -3, avg(-7, 0, -5) = -4; no children averages to 0', async () => {
    const m = collecting();
    m.gauge('x').set(-7);
    m.gauge('y').set(0);
    m.gauge('z').set(-5);
    m.define('name=two,collector=avg,children=x;y');
    m.define('name=three,collector=avg,children=x;y;z');
    m.define('name=none,collector=avg,initial_value=4');
    await eventually(() => m.get('three'), (v) => v === -4);
    expect(m.get('two')).toBe(-3);
    expect(m.get('none')).toBe(4);
  });

  it('accumulator adds the children every tick and starts from initial_value, which it adds once (uWSGI: every tick)', async () => {
    const m = collecting();
    m.gauge('a').set(22);
    m.gauge('b').set(17);
    const acc = m.define('name=acc,collector=accumulator,children=a;b');
    const acci = m.define('name=acci,collector=accumulator,children=a;b,initial_value=10');
    const first = await eventually(() => acc.get(), (v) => v > 0);
    const ticks = first / 39;
    expect(Number.isInteger(ticks)).toBe(true);
    const later = await eventually(() => acc.get(), (v) => v > first, 3000);
    expect((later - first) % 39).toBe(0);
    expect((acci.get() - 10) % 39).toBe(0); // 10 + 39k: initial_value counted once
    m.gauge('a').set(0);
    m.gauge('b').set(0);
    const idle = await afterTick(m, 'acci');
    expect(await afterTick(m, 'acci')).toBe(idle); // uWSGI grows by initial_value even with idle children
  });

  it('children are collected before their parents, so a sum of sums sees this tick\'s values', async () => {
    const m = collecting();
    const source = path.join(tempDir('order'), 'v');
    fs.writeFileSync(source, '5\n');
    m.define(`name=leaf,collector=file,arg1=${source}`);
    m.define('name=mid,collector=sum,children=leaf');
    m.define('name=top,collector=sum,children=mid');
    await eventually(() => m.get('top'), (v) => v === 5);
    fs.writeFileSync(source, '9\n');
    await eventually(() => m.get('leaf'), (v) => v === 9);
    // The leaf may be seen between its own write and its parents' within the tick;
    // 200 ms lets that tick finish while staying well short of the next (1 s) one.
    await sleep(200);
    expect(m.get('top')).toBe(9); // same tick as the leaf, not one behind
  });

  it('a collector-driven metric refuses API writes', () => {
    const m = collecting();
    m.define('a');
    const s = m.define('name=s,collector=sum,children=a');
    expect(() => s.set(3)).toThrow(MetricWriteError);
  });
});

describe('the file collector', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync('/tmp/shmetrics-files-');
    fs.writeFileSync(path.join(dir, 'table'), '10 20\t30\n40  50\r\n');
    fs.writeFileSync(path.join(dir, 'leading'), '  5 6');
    fs.writeFileSync(path.join(dir, 'big'), '9'.repeat(8) + '\n');
    fs.writeFileSync(path.join(dir, 'seven'), '7');
    fs.writeFileSync(path.join(dir, 'numbers'), '12abc -7 +8 3.9 0x10 abc 0.52 -1.25');
    fs.writeFileSync(path.join(dir, 'large'), 'x '.repeat(50 * 1024) + '4242\n'); // 100 KiB before the token
    return () => fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['table', 0, 10], ['table', 1, 20], ['table', 2, 30], ['table', 3, 40], ['table', 4, 50],
    ['leading', 0, 5], ['leading', 1, 6],
    ['seven', 0, 7],
    ['numbers', 0, 12], ['numbers', 1, -7], ['numbers', 2, 8], ['numbers', 3, 3], ['numbers', 4, 0], ['numbers', 5, 0],
    ['large', 51200, 4242],
  ])('%s token %i reads %i', async (file, token, expected) => {
    const m = collecting();
    // "big" leaves stale digits around in uWSGI's single 4 KiB buffer. Defined after "f", so that once it was
    // collected, "f" (an earlier slot) was collected in the same tick or before.
    m.define(`name=f,collector=file,arg1=${path.join(dir, file)},arg1n=${token},initial_value=0`);
    m.define(`name=big,collector=file,arg1=${path.join(dir, 'big')}`);
    await eventually(() => m.get('big'), (v) => v === 99999999);
    expect(m.get('f')).toBe(expected);
  });

  it('scales a decimal token by arg2n before truncating toward zero: 0.52 x 100 = 52, -1.25 x 10 = -12', async () => {
    const m = collecting();
    m.define(`name=load,collector=file,arg1=${path.join(dir, 'numbers')},arg1n=6,arg2n=100`);
    m.define(`name=neg,collector=file,arg1=${path.join(dir, 'numbers')},arg1n=7,arg2n=10`);
    m.define(`name=int,collector=file,arg1=${path.join(dir, 'table')},arg1n=1,arg2n=1024`);
    await eventually(() => m.get('int'), (v) => v !== 0);
    expect([m.get('load'), m.get('neg'), m.get('int')]).toEqual([52, -12, 20 * 1024]);
  });

  it('adds initial_value to what it reads, as uWSGI does', async () => {
    const m = collecting();
    m.define(`name=f,collector=file,arg1=${path.join(dir, 'table')},arg1n=1,initial_value=1000`);
    await eventually(() => m.get('f'), (v) => v === 1020);
  });

  it('a missing file or token keeps the last value (initial_value at first) and is logged once per change of state', async () => {
    const m = collecting();
    const log = captureLog(m);
    const file = path.join(dir, 'comes-and-goes');
    m.define(`name=gone,collector=file,arg1=${file},initial_value=3`);
    m.define(`name=beyond,collector=file,arg1=${path.join(dir, 'table')},arg1n=5,initial_value=-1`);
    await sleep(2300);
    expect(m.get('gone')).toBe(3);
    expect(m.get('beyond')).toBe(-1);
    expect(log.filter((l) => l.includes('"gone"'))).toEqual([
      `metric "gone": cannot open ${file}: No such file or directory; keeping the value 3`,
    ]);
    expect(log.filter((l) => l.includes('"beyond"'))).toHaveLength(1);
    fs.writeFileSync(file, '40\n');
    await eventually(() => m.get('gone'), (v) => v === 43);
    fs.rmSync(file);
    await sleep(1300);
    expect(m.get('gone')).toBe(43);
    expect(log.filter((l) => l.includes('"gone"'))).toEqual([
      `metric "gone": cannot open ${file}: No such file or directory; keeping the value 3`,
      `metric "gone": ${file} is readable again`,
      `metric "gone": cannot open ${file}: No such file or directory; keeping the value 43`,
    ]);
  });

  it('follows a file that changes, once per freq', async () => {
    const m = collecting();
    const file = path.join(dir, 'moving');
    fs.writeFileSync(file, '1\n');
    m.define(`name=f1,collector=file,arg1=${file}`);
    m.define(`name=f3,collector=file,arg1=${file},freq=3`);
    await eventually(() => m.get('f3'), (v) => v === 1);
    fs.writeFileSync(file, '2\n');
    await eventually(() => m.get('f1'), (v) => v === 2, 2000);
    expect(m.get('f3')).toBe(1); // its 3 s have not passed yet
    await eventually(() => m.get('f3'), (v) => v === 2, 4000);
  });
});

describe('func and ptr collectors', () => {
  let library: string;
  beforeAll(() => {
    const dir = fs.mkdtempSync('/tmp/shmetrics-lib-');
    const source = path.join(dir, 'collector.c');
    fs.writeFileSync(
      source,
      `#include "shmetrics_collector.h"
static int64_t calls;
int64_t counter_var = 42;
int64_t my_collector(const struct shmetrics_metric *m) { (void)m; calls += 10; return calls; }
int64_t neg_collector(const struct shmetrics_metric *m) { (void)m; return -123456789012LL; }
int64_t echo_args(const struct shmetrics_metric *m) { return m->argn[1] * 1000 + (m->arg[1][0] == 'y'); }
`,
    );
    library = path.join(dir, 'libcollector.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-I', path.resolve(__dirname, '../../native/include'), '-o', library, source]);
    Metrics.dlopen(library);
    return () => fs.rmSync(dir, { recursive: true, force: true });
  });

  it('func calls a C function from a --dlopen library every freq and adds initial_value', async () => {
    const m = collecting();
    m.define('name=mine,collector=func,arg1=my_collector');
    m.define('name=neg,type=gauge,collector=func,arg1=neg_collector,initial_value=12');
    m.define('name=args,collector=func,arg1=echo_args,arg2=yes,arg2n=7');
    await eventually(() => m.get('mine'), (v) => v >= 20, 3000);
    expect(m.get('neg')).toBe(-123456789000);
    expect(m.get('args')).toBe(7001);
  });

  it('ptr reads an int64_t variable of the library', async () => {
    const m = collecting();
    m.define('name=p,collector=ptr,arg1=counter_var,initial_value=1');
    await eventually(() => m.get('p'), (v) => v === 43);
  });

  it('a symbol that is not loaded is an error at definition time, not a silent 0 (uWSGI) or a crash (uWSGI ptr)', () => {
    const m = collecting();
    expect(() => m.define('name=x,collector=func,arg1=no_such_symbol')).toThrow(MetricSpecError);
    expect(() => m.define('name=x,collector=ptr,arg1=no_such_symbol')).toThrow(/symbol "no_such_symbol" is not loaded/);
    expect(m.has('x')).toBe(false);
  });

  it('loading a library that does not exist names it', () => {
    expect(() => Metrics.dlopen('/nonexistent/libnope.so')).toThrow(/\/nonexistent\/libnope\.so/);
  });
});

describe('JavaScript function collectors', () => {
  it('run in the defining process every freq; a throwing function is logged once and the value kept', async () => {
    const m = collecting();
    const log = captureLog(m);
    let n = 0;
    let fail = false;
    const js = m.define({
      name: 'js',
      initialValue: 100,
      collector: () => {
        if (fail) throw new Error('sensor offline');
        return ++n;
      },
    });
    expect(js.get()).toBe(101);
    await eventually(() => js.get(), (v) => v === 102, 2500);
    fail = true;
    await sleep(2300);
    expect(js.get()).toBe(102);
    expect(log).toEqual(['metric "js": its collector function threw sensor offline; keeping the value']);
    expect(() => js.inc()).toThrow(MetricWriteError);
    expect(m.list().find((i) => i.name === 'js')!.collector).toBe('js');
  });
});
