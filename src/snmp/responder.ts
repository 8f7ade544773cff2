/**
 * One datagram in, at most one datagram out. No sockets here, so that tests and the fuzzer can call it
 * directly. Nothing a packet contains can make `respond` throw: a packet it cannot use is counted,
 * logged the first time its kind is seen, and dropped.
 */

import { timingSafeEqual } from 'node:crypto';
import type { Metrics } from '../metrics';
import { BerError, BerReader, BerWriter, Tag } from './ber';
import {
  isRequestPdu,
  MsgFlags,
  readCommunity,
  readMessageStart,
  readPdu,
  readScopedPdu,
  readV3,
  type RequestPdu,
  type ResponseVarbind,
  USM_SECURITY_MODEL,
  type V3Message,
  Version,
  writeCommunityHeader,
  writePdu,
  writeScopedHeader,
  writeV3Header,
} from './message';
import type { MetricsMibView } from './mib-view';
import { type Answer, echo, ErrorStatus, MAX_MESSAGE_SIZE, PduProcessor } from './processor';
import { AUTH_PARAMS_LENGTH, PRIV_PARAMS_LENGTH, type ReportKind, ReportOids, SnmpEngine, type SnmpV3User, UsmUser } from './usm';

const MAX_DATAGRAM = MAX_MESSAGE_SIZE;
/** RFC 3412: msgMaxSize is at least 484. */
const MIN_MAX_SIZE = 484;
/**
 * Upper bounds of what a message adds around its varbinds. v1/v2c: 34 bytes at most (headers of 4-byte
 * lengths, version, request-id, error-status, error-index) plus the community. v3: about 110 plus the
 * engine ID twice (security parameters, contextEngineID) and the user name. Rounded up.
 */
const COMMUNITY_OVERHEAD = 48;
const V3_OVERHEAD = 160;

export type DropKind =
  | 'malformed'
  | 'unsupported-version'
  | 'wrong-community'
  | 'unsupported-pdu'
  | 'v3-not-enabled'
  | 'v3-refused'
  | 'internal';

export interface SnmpAgentStats {
  /** Datagrams received. */
  received: number;
  /** Responses sent. */
  answered: number;
  /** SNMPv3 Report PDUs sent (engine discovery, time synchronisation, USM errors). */
  reports: number;
  /** Datagrams dropped without an answer, by reason. */
  dropped: Record<DropKind, number>;
}

export interface ResponderOptions {
  community?: string;
  v3?: SnmpV3User;
}

/** Security levels of a v3 message: 0 noAuthNoPriv, 1 authNoPriv, 2 authPriv. */
type Level = 0 | 1 | 2;

export class SnmpResponder {
  readonly stats: SnmpAgentStats = {
    received: 0,
    answered: 0,
    reports: 0,
    dropped: {
      malformed: 0,
      'unsupported-version': 0,
      'wrong-community': 0,
      'unsupported-pdu': 0,
      'v3-not-enabled': 0,
      'v3-refused': 0,
      internal: 0,
    },
  };
  readonly engine = new SnmpEngine();
  private readonly user: UsmUser | undefined;
  private readonly community: Buffer | undefined;
  private readonly processor: PduProcessor;
  private readonly writer = new BerWriter();
  private readonly logged = new Set<string>();

  constructor(
    metrics: Metrics,
    view: MetricsMibView,
    options: ResponderOptions,
    private readonly log: (message: string) => void,
  ) {
    this.community = options.community === undefined ? undefined : Buffer.from(options.community, 'utf8');
    this.user = options.v3 && new UsmUser(options.v3, this.engine);
    this.processor = new PduProcessor(metrics, view, this.engine);
  }

  /** The answer to a datagram from `from` ("host:port", for logs), or undefined to send nothing. */
  respond(packet: Buffer, from: string): Buffer | undefined {
    this.stats.received++;
    try {
      const { reader, end, version } = readMessageStart(packet);
      if (version === Version.V1 || version === Version.V2c) return this.answerCommunity(reader, end, version, from);
      if (version === Version.V3) return this.v3(packet, reader, end, from);
      return this.drop('unsupported-version', `SNMP version field ${version} (0 = v1, 1 = v2c, 3 = v3)`, from);
    } catch (error) {
      if (error instanceof BerError) return this.drop('malformed', `${error.kind}: ${error.message}`, from);
      return this.drop('internal', error instanceof Error ? (error.stack ?? error.message) : String(error), from);
    }
  }

  private drop(kind: DropKind, detail: string, from: string, logKey: string = kind): undefined {
    this.stats.dropped[kind]++;
    this.logOnce(logKey, `SNMP: dropped a packet from ${from}: ${kind} (${detail})`);
    return undefined;
  }

  private logOnce(key: string, message: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log(`${message}; further ones are only counted`);
  }

  private answerCommunity(reader: BerReader, end: number, version: number, from: string): Buffer | undefined {
    const community = readCommunity(reader, end);
    if (!this.community) return this.drop('wrong-community', `an SNMP ${versionName(version)} request, but only v3 is enabled`, from);
    // As every agent: a wrong community gets no answer at all (RFC 1157 §4.1, RFC 3584).
    if (community.length !== this.community.length || !timingSafeEqual(community, this.community))
      // Not logged: the text may be someone's mistyped secret.
      return this.drop('wrong-community', `a community of ${community.length} bytes that is not the configured one`, from);
    const tag = reader.peekTag();
    if (!isRequestPdu(tag) || (version === Version.V1 && tag === Tag.GetBulkRequest))
      return this.drop('unsupported-pdu', `PDU type 0x${tag.toString(16)} in an SNMP ${versionName(version)} message`, from);
    const pdu = readPdu(reader, end);
    const answer = this.answer(pdu, version === Version.V1, MAX_DATAGRAM - COMMUNITY_OVERHEAD - community.length);
    const w = this.writer;
    w.reset();
    const messageMark = w.mark();
    writePdu(w, Tag.Response, pdu.requestId, answer.errorStatus, answer.errorIndex, answer.varbinds);
    writeCommunityHeader(w, messageMark, version, community);
    this.stats.answered++;
    return w.toBuffer();
  }

  /** RFC 3412 §7.2 and RFC 3414 §3.2, in their order. */
  private v3(packet: Buffer, reader: BerReader, end: number, from: string): Buffer | undefined {
    const message = readV3(reader, end);
    const { engine, user } = this;
    if (!user) return this.drop('v3-not-enabled', 'SNMPv3 request, but no v3 user is configured', from);
    if (message.securityModel !== USM_SECURITY_MODEL)
      return this.drop('v3-refused', `security model ${message.securityModel} (only USM, 3)`, from, 'v3-model');
    const auth = (message.flags & MsgFlags.Auth) !== 0;
    const priv = (message.flags & MsgFlags.Priv) !== 0;
    if (priv && !auth) throw new BerError('invalid', 'msgFlags: privacy without authentication');
    if (message.maxSize < MIN_MAX_SIZE) throw new BerError('invalid', `msgMaxSize ${message.maxSize} is below ${MIN_MAX_SIZE}`);

    // Engine discovery (RFC 3414 §4): a normal first step of every v3 manager, so not logged.
    if (!message.engineId.equals(engine.engineId)) return this.report(message, packet, 'unknownEngineIDs', 0, from);
    if (!message.userName.equals(user.userName)) {
      this.logOnce('v3-user', `SNMP: v3 request from ${from} for unknown user ${JSON.stringify(message.userName.toString('latin1'))}`);
      return this.report(message, packet, 'unknownUserNames', 0, from);
    }
    if (auth) {
      if (!user.isAuthentic(packet, message.authParamsOffset, message.authParams)) {
        this.logOnce('v3-digest', `SNMP: v3 request from ${from} with a wrong digest (wrong auth key?)`);
        return this.report(message, packet, 'wrongDigests', 0, from);
      }
      // Time synchronisation: authenticated, so that the manager can trust our clock (§3.2 step 7).
      if (!engine.inTimeWindow(message.engineBoots, message.engineTime)) return this.report(message, packet, 'notInTimeWindows', 1, from);
    }

    let scoped;
    if (priv) {
      try {
        if (!message.encrypted || message.privParams.length !== PRIV_PARAMS_LENGTH) throw new BerError('invalid', 'no encrypted PDU, or msgPrivacyParameters not 8 bytes');
        const plain = user.decrypt(message.encrypted, message.engineBoots, message.engineTime, message.privParams);
        scoped = readScopedPdu(plain, 0, plain.length, true);
      } catch (error) {
        if (!(error instanceof BerError)) throw error;
        this.logOnce('v3-decrypt', `SNMP: v3 request from ${from} that does not decrypt (wrong priv key?)`);
        return this.report(message, packet, 'decryptionErrors', 0, from);
      }
    } else {
      if (!message.plain) throw new BerError('invalid', 'an encrypted PDU in a message without privacy');
      scoped = readScopedPdu(packet, message.plain.start, message.plain.end, false);
    }
    const level: Level = priv ? 2 : auth ? 1 : 0;
    if (scoped.contextEngineId.length > 0 && !scoped.contextEngineId.equals(engine.engineId))
      return this.report(message, packet, 'unknownPduHandlers', level, from);
    if (scoped.contextName.length > 0) return this.report(message, packet, 'unknownContexts', level, from);

    const tag = scoped.reader.peekTag();
    if (!isRequestPdu(tag)) return this.drop('unsupported-pdu', `PDU type 0x${tag.toString(16)} in an SNMPv3 message`, from);
    const pdu = readPdu(scoped.reader, scoped.pduEnd);
    // The user is configured for authPriv; less is refused by access control (RFC 3415), as snmpd's "rouser NAME priv" does.
    const answer: Answer =
      level === 2
        ? this.answer(pdu, false, Math.min(message.maxSize, MAX_DATAGRAM) - V3_OVERHEAD - engine.engineId.length * 2 - user.userName.length)
        : { errorStatus: ErrorStatus.authorizationError, errorIndex: 0, varbinds: echo(pdu.varbinds) };
    if (level < 2) this.logOnce('v3-level', `SNMP: v3 request from ${from} below authPriv; answered authorizationError`);
    this.stats.answered++;
    return this.encodeV3(message, level, Tag.Response, pdu.requestId, answer);
  }

  /**
   * The processor's answer; genErr when the metrics cannot be read (the Metrics instance was closed...),
   * so that the manager hears of it rather than timing out.
   */
  private answer(pdu: RequestPdu, v1: boolean, budget: number): Answer {
    try {
      return this.processor.answer(pdu, v1, budget);
    } catch (error) {
      this.logOnce('read-error', `SNMP: answered genErr: ${error instanceof Error ? error.message : String(error)}`);
      return { errorStatus: ErrorStatus.genErr, errorIndex: 0, varbinds: echo(pdu.varbinds) };
    }
  }

  /** Sends a Report PDU carrying the usmStats (or RFC 3412) counter of `kind`, if the manager asked for reports. */
  private report(message: V3Message, packet: Buffer, kind: ReportKind, level: Level, from: string): Buffer | undefined {
    const counters = this.engine.counters;
    counters[kind]++;
    if ((message.flags & MsgFlags.Reportable) === 0) return this.drop('v3-refused', `${kind}, not reportable`, from, `v3-${kind}`);
    this.stats.reports++;
    const varbinds: ResponseVarbind[] = [{ oid: ReportOids[kind], tag: Tag.Counter32, value: counters[kind] >>> 0 }];
    return this.encodeV3(message, level, Tag.Report, plainRequestId(message, packet), { errorStatus: 0, errorIndex: 0, varbinds });
  }

  private encodeV3(message: V3Message, level: Level, pduTag: number, requestId: number, answer: Answer): Buffer {
    const { engine } = this;
    const user = this.user!;
    const time = engine.time();
    const w = this.writer;
    w.reset();
    const messageMark = w.mark();
    const scopedMark = w.mark();
    writePdu(w, pduTag, requestId, answer.errorStatus, answer.errorIndex, answer.varbinds);
    writeScopedHeader(w, scopedMark, engine.engineId, Buffer.alloc(0));
    let privParams: Buffer = Buffer.alloc(0);
    if (level === 2) {
      const { encrypted, salt } = user.encrypt(w.view(scopedMark), engine.engineBoots, time);
      w.patch(w.mark(), encrypted);
      w.wrap(Tag.OctetString, scopedMark);
      privParams = salt;
    }
    const authAt = writeV3Header(w, messageMark, {
      msgId: message.msgId,
      maxSize: MAX_DATAGRAM,
      flags: level === 2 ? MsgFlags.Auth | MsgFlags.Priv : level === 1 ? MsgFlags.Auth : 0,
      engineId: engine.engineId,
      engineBoots: engine.engineBoots,
      engineTime: time,
      userName: message.userName,
      authParamsLength: level > 0 ? AUTH_PARAMS_LENGTH : 0,
      privParams,
    });
    if (level > 0) w.patch(authAt, user.mac(w.view(messageMark)));
    return w.toBuffer();
  }
}

function versionName(version: number): string {
  return version === Version.V1 ? 'v1' : 'v2c';
}

/** The request-id of a report: the request's when its PDU is in clear and readable, else 0 (RFC 3412 §7.1 step 3). */
function plainRequestId(message: V3Message, packet: Buffer): number {
  if (!message.plain) return 0;
  try {
    const scoped = readScopedPdu(packet, message.plain.start, message.plain.end, false);
    const pduEnd = scoped.reader.header(scoped.pduEnd, undefined, 'PDU');
    return scoped.reader.readInt32(pduEnd, 'request-id');
  } catch {
    return 0;
  }
}
