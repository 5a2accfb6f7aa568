/**
 * A real exporter works: a traced answer's span goes over OTLP/HTTP (JSON) to a receiver the test
 * starts on 127.0.0.1, a plain node:http server that records what is POSTed to /v1/traces.
 */
import { createServer } from 'node:http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { collect } from '../../src/operators/collect.js';
import { traced } from '../../src/otel/index.js';
import { startMockProvider } from '../../src/testing/index.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';

/** An OTLP attribute as the JSON encoding has it. */
interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values: Array<{ stringValue?: string }> } };
}
interface ExportedSpan {
  name: string;
  kind: number;
  attributes: KeyValue[];
}

describe('OTLP/HTTP export', () => {
  it('a traced answer’s span reaches a local OTLP receiver with its name and attributes', async () => {
    const posts: Array<{ path: string; contentType: string | undefined; body: string }> = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        posts.push({ path: request.url ?? '', contentType: request.headers['content-type'], body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const local = await listenLocal(receiver);
    const mock = await startMockProvider({ flavor: 'anthropic', script: { text: ['Hi', ' there.'], usage: { inputTokens: 7, outputTokens: 2 } } });
    const tracerProvider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${local.origin}/v1/traces` }) })],
    });
    try {
      const request = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'Hello' }] };
      await lastValueFrom(makeProvider('anthropic', mock).stream(request).pipe(traced({ tracer: tracerProvider.getTracer('otlp-test'), request }), collect()));
      await tracerProvider.forceFlush();

      expect(posts.map((p) => [p.path, p.contentType])).toEqual([['/v1/traces', 'application/json']]);
      const payload = JSON.parse(posts[0]!.body) as { resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: ExportedSpan[] }> }> };
      const scopeSpans = payload.resourceSpans.flatMap((r) => r.scopeSpans);
      expect(scopeSpans.map((s) => s.scope.name)).toEqual(['otlp-test']);
      const spans = scopeSpans.flatMap((s) => s.spans);
      expect(spans.map((s) => s.name)).toEqual(['chat claude-test']);
      const attributes = Object.fromEntries(spans[0]!.attributes.map((a) => [a.key, a.value]));
      expect(spans[0]!.kind).toBe(3); // OTLP SPAN_KIND_CLIENT
      expect(attributes['gen_ai.operation.name']).toEqual({ stringValue: 'chat' });
      expect(attributes['gen_ai.provider.name']).toEqual({ stringValue: 'anthropic' });
      expect(attributes['gen_ai.request.model']).toEqual({ stringValue: 'claude-test' });
      expect(Number(attributes['gen_ai.usage.output_tokens']?.intValue)).toBe(2);
      expect(attributes['gen_ai.response.finish_reasons']).toEqual({ arrayValue: { values: [{ stringValue: 'stop' }] } });
      expect(attributes['gen_ai.response.time_to_first_chunk']?.doubleValue).toBeGreaterThan(0);
    } finally {
      await tracerProvider.shutdown();
      await mock.close();
      await local.close();
    }
  });
});
