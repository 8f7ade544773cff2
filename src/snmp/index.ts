/**
 * The SNMP agent: every metric of a region over SNMP v1, v2c and v3, at uWSGI's OIDs and in a table.
 * See README "SNMP" and SHMETRICS-MIB.txt.
 */
export { startSnmpAgent, type SnmpAgent, type SnmpAgentOptions } from './agent';
export { DEFAULT_SNMP_PORT, parseSnmpAddress, type SnmpAddress } from './address';
export { SnmpConfigError } from './errors';
export { BASE_OID, Column as SnmpTableColumn, TABLE_ARC } from './oid';
export type { DropKind, SnmpAgentStats } from './responder';
export type { SnmpV3User } from './usm';
