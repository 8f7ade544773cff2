/**
 * SNMPv3's User-based Security Model (RFC 3414) for one user, as the authoritative engine: HMAC-SHA-96
 * authentication, AES-128-CFB privacy (RFC 3826), keys localized to this engine, and the engine's
 * boots and time. Built on node:crypto (see README "SNMP" for why not net-snmp's copy of the same).
 */

import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SnmpConfigError } from './errors';

export interface SnmpV3User {
  /** The USM user name, 1 to 32 bytes. */
  user: string;
  /** The SHA authentication passphrase, at least 8 characters (RFC 3414 §11.2). */
  authKey: string;
  /** The AES privacy passphrase, at least 8 characters. */
  privKey: string;
}

/** HMAC-SHA-96: the first 12 bytes of HMAC-SHA-1. */
export const AUTH_PARAMS_LENGTH = 12;
/** AES's salt: 8 bytes (RFC 3826 §3.1.2.1). */
export const PRIV_PARAMS_LENGTH = 8;
/** RFC 3414 §3.2 step 7: a message more than 150 s off the engine's clock is refused. */
export const TIME_WINDOW_SECONDS = 150;
const MAX_INT32 = 2147483647;
/** RFC 3411 SnmpEngineID: enterprise number with the top bit set (unbit, 35156), then format 5 (octets). */
const ENGINE_ID_PREFIX = Buffer.from([0x80, 0x00, 0x89, 0x54, 0x05]);

/** The usmStats counters (RFC 3414 §5) and the two of RFC 3412 that reports carry. */
export const ReportOids = {
  unsupportedSecLevels: [1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0],
  notInTimeWindows: [1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0],
  unknownUserNames: [1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0],
  unknownEngineIDs: [1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0],
  wrongDigests: [1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0],
  decryptionErrors: [1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0],
  unknownContexts: [1, 3, 6, 1, 6, 3, 12, 1, 5, 0],
  unknownPduHandlers: [1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0],
} as const;
export type ReportKind = keyof typeof ReportOids;

/** RFC 3414 A.2.2: SHA-1 over 1 MiB of the repeated passphrase, then localized: H(Ku || engineID || Ku). */
export function localizeKey(passphrase: string, engineId: Buffer): Buffer {
  const ku = createHash('sha1').update(Buffer.alloc(1024 * 1024, passphrase, 'utf8')).digest();
  return createHash('sha1').update(ku).update(engineId).update(ku).digest();
}

export function checkV3User(v3: unknown): SnmpV3User {
  if (typeof v3 !== 'object' || v3 === null) throw new TypeError('options.v3 must be { user, authKey, privKey }');
  const { user, authKey, privKey } = v3 as Record<string, unknown>;
  for (const [key, value] of Object.entries({ user, authKey, privKey }))
    if (typeof value !== 'string') throw new TypeError(`options.v3.${key} must be a string, not ${typeof value}`);
  const u = user as string;
  if (Buffer.byteLength(u) < 1 || Buffer.byteLength(u) > 32) throw new SnmpConfigError('v3 user', u, 'a USM user name is 1 to 32 bytes');
  for (const [key, value] of [['auth key', authKey], ['priv key', privKey]] as const)
    if ((value as string).length < 8)
      // The value itself is a secret: name the user, not the key.
      throw new SnmpConfigError(`v3 ${key} of user`, u, `the passphrase is ${(value as string).length} characters; USM needs at least 8`);
  return { user: u, authKey: authKey as string, privKey: privKey as string };
}

/**
 * This agent as an SNMP engine (RFC 3411): its snmpEngineID, boots and time, and the USM error counters
 * that v3 reports carry. Served as SNMP-FRAMEWORK-MIB::snmpEngine whatever versions are enabled.
 */
export class SnmpEngine {
  /** Random at each start: no state survives a restart, so (engineID, boots, time) never repeats. */
  readonly engineId = Buffer.concat([ENGINE_ID_PREFIX, randomBytes(8)]);
  readonly engineBoots = 1;
  readonly counters: Record<ReportKind, number> = {
    unsupportedSecLevels: 0,
    notInTimeWindows: 0,
    unknownUserNames: 0,
    unknownEngineIDs: 0,
    wrongDigests: 0,
    decryptionErrors: 0,
    unknownContexts: 0,
    unknownPduHandlers: 0,
  };
  private readonly startedAt = performance.now();

  /** snmpEngineTime: seconds since the engine started. */
  time(): number {
    return Math.min(MAX_INT32, Math.floor((performance.now() - this.startedAt) / 1000));
  }

  inTimeWindow(boots: number, time: number): boolean {
    return boots === this.engineBoots && Math.abs(time - this.time()) <= TIME_WINDOW_SECONDS;
  }
}

/** The one v3 user, its passphrases localized to the engine. */
export class UsmUser {
  readonly userName: Buffer;
  private readonly authKey: Buffer;
  private readonly privKey: Buffer;
  /** RFC 3826 §3.1.2.1: a 64-bit integer, random at start, incremented for each encrypted message. */
  private salt = randomBytes(8).readBigUInt64BE();

  constructor(user: SnmpV3User, engine: SnmpEngine) {
    this.userName = Buffer.from(user.user, 'utf8');
    this.authKey = localizeKey(user.authKey, engine.engineId);
    // AES-128 takes the first 16 bytes of the localized privacy key (RFC 3826 §3.1.2.1).
    this.privKey = localizeKey(user.privKey, engine.engineId).subarray(0, 16);
  }

  /** Checks the MAC of a received message; zeroes its msgAuthenticationParameters in place to do so. */
  isAuthentic(message: Buffer, authParamsOffset: number, authParams: Buffer): boolean {
    if (authParams.length !== AUTH_PARAMS_LENGTH) return false;
    const received = Buffer.from(authParams);
    message.fill(0, authParamsOffset, authParamsOffset + AUTH_PARAMS_LENGTH);
    return timingSafeEqual(this.mac(message), received);
  }

  /** The MAC of a message whose msgAuthenticationParameters are zero. */
  mac(message: Buffer): Buffer {
    return createHmac('sha1', this.authKey).update(message).digest().subarray(0, AUTH_PARAMS_LENGTH);
  }

  decrypt(encrypted: Buffer, boots: number, time: number, salt: Buffer): Buffer {
    const decipher = createDecipheriv('aes-128-cfb', this.privKey, aesIv(boots, time, salt));
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  }

  /** CFB keeps the length: the ciphertext replaces the plaintext in place. */
  encrypt(plain: Buffer, boots: number, time: number): { encrypted: Buffer; salt: Buffer } {
    this.salt = BigInt.asUintN(64, this.salt + 1n);
    const salt = Buffer.alloc(PRIV_PARAMS_LENGTH);
    salt.writeBigUInt64BE(this.salt);
    const cipher = createCipheriv('aes-128-cfb', this.privKey, aesIv(boots, time, salt));
    return { encrypted: Buffer.concat([cipher.update(plain), cipher.final()]), salt };
  }
}

/** RFC 3826 §3.1.2.1: IV = engineBoots (4) | engineTime (4) | salt (8), of the authoritative engine. */
function aesIv(boots: number, time: number, salt: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(boots >>> 0, 0);
  iv.writeUInt32BE(time >>> 0, 4);
  salt.copy(iv, 8, 0, 8);
  return iv;
}
