import { describe, expect, it } from 'vitest';
import { acceptsGzip, negotiateExposition } from '../../src/http/negotiation';

describe('content negotiation for /metrics', () => {
  it("answers OpenMetrics to the Accept header Prometheus 2.x sends", () => {
    const prometheus =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(negotiateExposition(prometheus)).toBe('openmetrics');
    expect(negotiateExposition('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateExposition('application/openmetrics-text; version=0.0.1')).toBe('openmetrics');
  });

  it('answers the text format to curl, browsers, no header, or a preference for text', () => {
    expect(negotiateExposition(undefined)).toBe('text');
    expect(negotiateExposition('*/*')).toBe('text');
    expect(negotiateExposition('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe('text');
    expect(negotiateExposition('text/plain;version=0.0.4')).toBe('text');
    expect(negotiateExposition('text/plain, application/openmetrics-text;q=0.5')).toBe('text');
  });

  it('never answers an OpenMetrics version it does not write, nor one refused with q=0', () => {
    expect(negotiateExposition('application/openmetrics-text;version=2.0.0')).toBe('text');
    expect(negotiateExposition('application/openmetrics-text;q=0, text/plain;q=0.1')).toBe('text');
  });

  it('gzips only for a client that names gzip with q > 0', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
