/**
 * Content negotiation for /metrics, as client_golang does it: OpenMetrics 1.0 when the Accept header
 * names `application/openmetrics-text` (version 1.0.0, 0.0.1 or none) with a q at least that of the text
 * format, else the text format 0.0.4. Wildcards never select OpenMetrics, so `curl` gets text.
 * Prometheus 2.x sends `application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`.
 */

import type { ExpositionFormat } from './prometheus-format';

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [typeText, ...paramTexts] = part.split(';');
    const type = typeText.trim().toLowerCase();
    if (type === '') continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of paramTexts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key === 'q') {
        const n = Number(value);
        q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
      } else params.set(key, value);
    }
    ranges.push({ type, params, q });
  }
  return ranges;
}

export function negotiateExposition(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  let om = 0;
  let text = 0;
  for (const range of parseAccept(accept)) {
    const version = range.params.get('version');
    if (range.type === 'application/openmetrics-text' && (version === undefined || version === '1.0.0' || version === '0.0.1'))
      om = Math.max(om, range.q);
    else if (range.type === 'text/plain' && (version === undefined || version === '0.0.4')) text = Math.max(text, range.q);
    else if (range.type === 'text/*' || range.type === '*/*') text = Math.max(text, range.q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'text';
}

/** Whether the client takes a gzip body (Accept-Encoding names gzip with a q above 0). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return parseAccept(acceptEncoding).some((r) => (r.type === 'gzip' || r.type === 'x-gzip') && r.q > 0);
}
