/**
 * uWSGI's `--zabbix-template`: a Zabbix template with one trapper item per pushed metric, fixed. uWSGI
 * writes the bare metric name as the key (the pusher sends `<prefix>.<name>`, so no item ever matches) and
 * declares every item "numeric unsigned" (a negative gauge is then refused). Here each key is exactly the
 * key the zabbix pusher sends, and every item is "numeric (float)", Zabbix's only numeric type that takes
 * negative values. The format is Zabbix 6.0's XML export (UUIDs are version-4 shaped and derived from the
 * keys, so a regenerated template imports as an update of the same items).
 */

import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** The "Templates" host group as Zabbix 6.0 itself exports it. */
const TEMPLATES_GROUP = { uuid: '7df96b18c230490a9a0a9e2307226338', name: 'Templates' };
/** Items generated per turn of the event loop when the pusher writes the template. */
const SLICE_ITEMS = 1000;

export interface ZabbixTemplateOptions {
  /** The pusher's key prefix: item keys are `<prefix>.<name>` (just `<name>` when empty). */
  prefix: string;
  /** The metrics, in order: those of a push snapshot fit. */
  metrics: readonly { readonly name: string; readonly type: string }[];
  /** The template's name; default `shmetrics <prefix>`. */
  name?: string;
}

/** The key the zabbix pusher sends for `name`. */
export function zabbixKey(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/** The template as one XML document. */
export function zabbixTemplate(options: ZabbixTemplateOptions): string {
  let xml = '';
  for (const part of templateParts(options)) xml += part;
  return xml;
}

/** The same document, built a slice of items per turn of the event loop (for large metric sets). */
export async function zabbixTemplateInSlices(options: ZabbixTemplateOptions): Promise<string> {
  let xml = '';
  let items = 0;
  for (const part of templateParts(options)) {
    xml += part;
    if (++items % SLICE_ITEMS === 0) await nextTurn();
  }
  return xml;
}

function* templateParts({ prefix, metrics, name }: ZabbixTemplateOptions): Generator<string> {
  const templateName = name ?? `shmetrics ${prefix === '' ? 'metrics' : prefix}`;
  yield `<?xml version="1.0" encoding="UTF-8"?>
<zabbix_export>
    <version>6.0</version>
    <groups>
        <group>
            <uuid>${TEMPLATES_GROUP.uuid}</uuid>
            <name>${TEMPLATES_GROUP.name}</name>
        </group>
    </groups>
    <templates>
        <template>
            <uuid>${uuidFor(`template:${templateName}`)}</uuid>
            <template>${xmlText(templateName)}</template>
            <name>${xmlText(templateName)}</name>
            <description>Trapper items for the keys of the shmetrics zabbix pusher, prefix ${xmlText(JSON.stringify(prefix))}.</description>
            <groups>
                <group>
                    <name>${TEMPLATES_GROUP.name}</name>
                </group>
            </groups>
            <items>
`;
  for (const metric of metrics) {
    const key = zabbixKey(prefix, metric.name);
    yield `                <item>
                    <uuid>${uuidFor(`item:${templateName}:${key}`)}</uuid>
                    <name>${xmlText(metric.name)}</name>
                    <type>TRAP</type>
                    <key>${xmlText(key)}</key>
                    <delay>0</delay>
                    <value_type>FLOAT</value_type>
                    <description>${xmlText(describe(metric.type))}</description>
                </item>
`;
  }
  yield `            </items>
        </template>
    </templates>
</zabbix_export>
`;
}

function describe(type: string): string {
  if (type === 'counter') return 'shmetrics counter, sent as its cumulative value: add a "Change per second" preprocessing step for a rate';
  return `shmetrics ${type}, sent as its current value`;
}

/** A UUID with the version (4) and variant bits Zabbix's importer checks, derived from `seed`. */
function uuidFor(seed: string): string {
  const bytes = createHash('sha1').update(`shmetrics:${seed}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes.toString('hex');
}

/** Character data (element content only: quotes need no escaping there). */
function xmlText(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}
