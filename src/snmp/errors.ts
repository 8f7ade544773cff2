import { ShmetricsError } from '../errors';

/** An SNMP agent option that cannot be used: the message names the option and its value. */
export class SnmpConfigError extends ShmetricsError {
  constructor(
    readonly option: string,
    readonly value: string,
    readonly detail: string,
  ) {
    super(`invalid SNMP ${option} ${JSON.stringify(value)}: ${detail}`);
  }
}
