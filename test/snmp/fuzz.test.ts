import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { startSnmpAgent, type SnmpAgent } from '../../src/snmp';
import { Tag } from '../../src/snmp/ber';
import { BASE, closeAgentRun, missingSnmpTools, regionPath, SnmpTools } from './snmp-tools';
import { request } from './wire';

// 100,000 in npm test; CI runs the hardening count (SHMETRICS_FUZZ_MUTATIONS, see .ci/run).
const MUTATIONS = Number(process.env.SHMETRICS_FUZZ_MUTATIONS) || 100_000;
/** Packets in flight at once: small enough that the loopback socket buffer never overflows. */
const WINDOW = 64;

/** xorshift32: a reproducible stream of random numbers (the seed is in the test's name). */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return { next, below: (n: number) => next() % n, bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 0xff)) };
}

const SEED = 0x5eed5;

/** 1 to 4 random edits of a valid request: flips, boundary bytes, inserts, deletes, repeats, cuts. */
function mutate(rng: ReturnType<typeof random>, seed: Buffer): Buffer {
  let packet = Buffer.from(seed);
  for (let edits = 1 + rng.below(4); edits > 0; edits--) {
    const at = packet.length ? rng.below(packet.length) : 0;
    switch (rng.below(9)) {
      case 0:
        if (packet.length) packet[at] ^= 1 << rng.below(8);
        break;
      case 1:
        if (packet.length) packet[at] = [0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff][rng.below(8)];
        break;
      case 2:
        if (packet.length) packet[at] = rng.next() & 0xff;
        break;
      case 3:
        packet = Buffer.concat([packet.subarray(0, at), rng.bytes(1 + rng.below(8)), packet.subarray(at)]);
        break;
      case 4:
        packet = Buffer.concat([packet.subarray(0, at), packet.subarray(at + 1 + rng.below(8))]);
        break;
      case 5:
        packet = Buffer.concat([packet.subarray(0, at), packet.subarray(at, at + 1 + rng.below(16)), packet.subarray(at)]);
        break;
      case 6:
        packet = packet.subarray(0, at);
        break;
      case 7:
        // A huge length where a length byte may be: 0x84 followed by four bytes.
        packet = Buffer.concat([packet.subarray(0, at), Buffer.from([0x84, 0xff, 0xff, 0xff, rng.next() & 0xff]), packet.subarray(at + 1)]);
        break;
      default:
        packet = Buffer.concat([packet, rng.bytes(1 + rng.below(32))]);
    }
  }
  return packet.length > 65507 ? packet.subarray(0, 65507) : packet;
}

/** Hand-made hostile packets: every truncation, every byte forced to a boundary value, odd shapes. */
function craftedPackets(seeds: Buffer[]): Buffer[] {
  const packets: Buffer[] = [Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x80]), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])];
  for (const seed of seeds) {
    for (let length = 0; length < seed.length; length++) packets.push(seed.subarray(0, length));
    for (let at = 0; at < seed.length; at++)
      for (const value of [0x00, 0x80, 0x84, 0xff]) {
        const copy = Buffer.from(seed);
        copy[at] = value;
        packets.push(copy);
      }
  }
  // Nesting 2,000 SEQUENCEs deep, an OID of 10,000 arcs, 5,000 varbinds of garbage, a full datagram of noise.
  packets.push(Buffer.concat([...Array.from({ length: 2000 }, () => Buffer.from([0x30, 0x84, 0x00, 0x00, 0xff, 0x00])), Buffer.from([0x02, 0x01, 0x01])]));
  packets.push(request(1, Tag.GetRequest, [`1.3.${Array.from({ length: 10000 }, () => '1').join('.')}`]));
  packets.push(request(1, Tag.GetNextRequest, Array.from({ length: 5000 }, (_, i) => `1.3.6.${i}`)));
  packets.push(random(7).bytes(65507));
  return packets;
}

describe.skipIf(missingSnmpTools())('the SNMP agent under malformed packets', () => {
  const path = regionPath('fuzz');
  let metrics: Metrics;
  let agent: SnmpAgent;
  let tools: SnmpTools;
  const seeds: Buffer[] = [];

  beforeAll(async () => {
    metrics = Metrics.open({ path });
    metrics.define('name=fuzz.hits,oid=1.1').inc(41);
    metrics.define('name=fuzz.level,type=gauge,oid=1.2').set(-7);
    for (let i = 0; i < 50; i++) metrics.define(`name=fuzz.m${i}`);
    agent = await startSnmpAgent(metrics, {
      address: '127.0.0.1:0',
      community: 'public',
      v3: { user: 'fuzzer', authKey: 'fuzzer-auth-key', privKey: 'fuzzer-priv-key' },
      log: () => {},
    });

    // Valid requests as real clients send them: Debian's tools through a recording UDP relay.
    const relay = dgram.createSocket('udp4');
    relay.bind(0, '127.0.0.1');
    await once(relay, 'listening');
    let client: dgram.RemoteInfo | undefined;
    relay.on('message', (packet, from) => {
      if (from.port === agent.port) {
        if (client) relay.send(packet, client.port, client.address);
      } else {
        client = from;
        seeds.push(Buffer.from(packet));
        relay.send(packet, agent.port, '127.0.0.1');
      }
    });
    tools = new SnmpTools(relay.address().port);
    const v3 = ['-v3', '-l', 'authPriv', '-u', 'fuzzer', '-a', 'SHA', '-A', 'fuzzer-auth-key', '-x', 'AES', '-X', 'fuzzer-priv-key', '-On', '-m', ''];
    const target = `127.0.0.1:${relay.address().port}`;
    await tools.v2c('snmpget', `${BASE}.1.1`, `${BASE}.1.2`);
    await tools.v1('snmpget', `${BASE}.1.1`);
    await tools.v2c('snmpgetnext', `${BASE}.1.1`);
    await tools.v2c('snmpbulkget', '-Cn1', '-Cr5', BASE, `${BASE}.20`);
    await tools.v2c('snmpset', `${BASE}.1.2`, 'u', '5');
    await tools.run('snmpget', [...v3, target, `${BASE}.1.1`]);
    relay.close();
    tools = new SnmpTools(agent.port);
  });

  afterAll(() => closeAgentRun({ agent, metrics, tools, path }));

  /** Sends every packet to the agent, never more than WINDOW unprocessed, and waits until it has read them all. */
  async function send(packets: Buffer[]): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.on('message', () => {}); // answers (reports, errors) are read and ignored
    const start = agent.stats().received;
    const deadline = Date.now() + 120_000;
    try {
      for (let sent = 0; sent < packets.length; ) {
        if (sent - (agent.stats().received - start) < WINDOW) {
          socket.send(packets[sent++], agent.port, '127.0.0.1');
          continue;
        }
        if (Date.now() > deadline) throw new Error(`the agent read ${agent.stats().received - start} of ${sent} packets`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      while (agent.stats().received - start < packets.length) {
        if (Date.now() > deadline) throw new Error(`the agent read ${agent.stats().received - start} of ${packets.length} packets`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      socket.close();
    }
  }

  async function stillAnswers(): Promise<void> {
    expect(await tools.v2c('snmpget', `${BASE}.1.1`, `${BASE}.1.2`)).toEqual({
      stdout: '.1.3.6.1.4.1.35156.17.1.1 = Counter64: 41\n.1.3.6.1.4.1.35156.17.1.2 = Gauge32: 0\n',
      stderr: '',
      code: 0,
    });
    expect(agent.stats().dropped.internal).toBe(0);
  }

  it('recorded real v1, v2c and v3 requests to start from', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(7);
    expect(seeds.some((seed) => seed.includes(Buffer.from('fuzzer')))).toBe(true);
  });

  it('survives truncated BER, huge and indefinite lengths, wrong tags and deep nesting, then answers a GET', async () => {
    const packets = craftedPackets(seeds);
    const before = agent.stats();
    await send(packets);
    const after = agent.stats();
    expect(after.received - before.received).toBe(packets.length);
    expect(after.dropped.malformed - before.dropped.malformed).toBeGreaterThan(packets.length / 2);
    await stillAnswers();
  });

  it(`survives ${MUTATIONS.toLocaleString('en')} random mutations of valid requests (seed ${SEED}), then answers a GET`, async () => {
    const rng = random(SEED);
    const packets = Array.from({ length: MUTATIONS }, () => mutate(rng, seeds[rng.below(seeds.length)]));
    const before = agent.stats();
    const started = performance.now();
    await send(packets);
    const seconds = (performance.now() - started) / 1000;
    const after = agent.stats();
    expect(after.received - before.received).toBe(MUTATIONS);
    // Every packet is accounted for: answered, reported or dropped for a reason, none by an exception.
    const dropped = (stats: typeof after) => Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    expect(after.answered - before.answered + (after.reports - before.reports) + dropped(after) - dropped(before)).toBe(MUTATIONS);
    expect(after.dropped.internal).toBe(0);
    process.stderr.write(`SNMP fuzz: ${MUTATIONS} mutations in ${seconds.toFixed(1)} s; answered ${after.answered - before.answered}, ` +
      `reports ${after.reports - before.reports}, dropped ${JSON.stringify(Object.fromEntries(Object.entries(after.dropped).map(([k, v]) => [k, v - before.dropped[k as keyof typeof before.dropped]])))}\n`);
    await stillAnswers();
  });
});
