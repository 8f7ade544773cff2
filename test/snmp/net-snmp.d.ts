/** The part of net-snmp (no bundled types) the SNMP tests use as an independent client. */
declare module 'net-snmp' {
  interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }
  interface Session {
    get(oids: string[], callback: (error: Error | null, varbinds: Varbind[]) => void): void;
    close(): void;
  }
  export function createSession(target: string, community: string, options?: Record<string, unknown>): Session;
  export function createV3Session(target: string, user: Record<string, unknown>, options?: Record<string, unknown>): Session;
  export function isVarbindError(varbind: Varbind): boolean;
  export const Version1: number;
  export const Version2c: number;
  export const ObjectType: Record<string, number>;
  export const SecurityLevel: Record<string, number>;
  export const AuthProtocols: Record<string, number>;
  export const PrivProtocols: Record<string, number>;
  export const Authentication: { passwordToKey(protocol: number, password: string, engineId: Buffer): Buffer };
}
