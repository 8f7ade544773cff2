/**
 * The `--alarm "NAME PLUGIN:ARGS"` spec, split as uWSGI splits it: the name ends at the first space, the
 * plugin at the first `:` after it, and ARGS is all the rest (possibly empty, as in `log:`).
 */

import { AlarmSpecError } from '../errors';
import { ALARM_PLUGINS, AlarmPluginClass, AlarmPluginName } from './alarm-plugin';

export interface AlarmDefinition {
  name: string;
  plugin: AlarmPluginName;
  args: string;
}

export type AlarmDefinitionInput = { name: string; plugin: AlarmPluginName; args?: string };

const q = (text: string): string => JSON.stringify(text);

export function isValidAlarmName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name);
}

export function parseAlarmSpec(spec: string): AlarmDefinition {
  const space = spec.indexOf(' ');
  if (space === -1) throw new AlarmSpecError(spec, 'missing the space after the alarm name (expected "NAME PLUGIN:ARGS")', 'name');
  const name = spec.slice(0, space);
  checkName(spec, name);
  const rest = spec.slice(space + 1);
  const colon = rest.indexOf(':');
  if (colon === -1) {
    throw new AlarmSpecError(spec, `missing ":" after the plugin in ${q(rest)} (expected "NAME PLUGIN:ARGS", such as "${name} log:")`, 'plugin');
  }
  return checkedDefinition(spec, name, rest.slice(0, colon), rest.slice(colon + 1));
}

/** The object form: same checks and errors, the spec text being the formatted input. */
export function normalizeAlarmDefinition(input: AlarmDefinitionInput): AlarmDefinition {
  const { name, plugin, args = '' } = input;
  const spec = `${name} ${plugin}:${args}`;
  for (const [property, value] of Object.entries({ name, plugin, args })) {
    if (typeof value !== 'string') throw new AlarmSpecError(spec, `${property} must be a string, not ${typeof value}`, property);
  }
  checkName(spec, name);
  return checkedDefinition(spec, name, plugin, args);
}

export function formatAlarmSpec(def: AlarmDefinition): string {
  return `${def.name} ${def.plugin}:${def.args}`;
}

function checkName(spec: string, name: string): void {
  if (name === '') throw new AlarmSpecError(spec, 'empty alarm name', 'name');
  if (!isValidAlarmName(name)) {
    throw new AlarmSpecError(spec, `alarm name ${q(name)}: only letters, digits, _ - . are allowed`, 'name');
  }
}

function checkedDefinition(spec: string, name: string, plugin: string, args: string): AlarmDefinition {
  if (!Object.hasOwn(ALARM_PLUGINS, plugin)) {
    throw new AlarmSpecError(spec, `unknown plugin ${q(plugin)} (known: ${Object.keys(ALARM_PLUGINS).join(', ')})`, 'plugin');
  }
  const pluginClass: AlarmPluginClass = ALARM_PLUGINS[plugin as AlarmPluginName];
  const problem = pluginClass.argsProblem?.(args);
  if (problem !== undefined) throw new AlarmSpecError(spec, problem, 'args');
  return { name, plugin: plugin as AlarmPluginName, args };
}
