/**
 * Structured output over real HTTP through the real SDKs: `request.output` reaches each provider's
 * wire field (read back by the mock), the streamed partials grow, and the final value is validated.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { ValidationError } from '../../src/errors.js';
import type { ChatRequest } from '../../src/events.js';
import { partialObject } from '../../src/operators/partialObject.js';
import { openai } from '../../src/providers/openai.js';
import type { MockFlavor, MockProvider } from '../../src/testing/index.js';
import { validateChatRequest } from '../../src/validate.js';
import { invalidArgument, rejectionOf, withMock } from '../helpers/mock.js';

const Person = z.object({ name: z.string(), age: z.number() });
const ANSWER = ['{"name', '":"Ada', ' Lovelace",', '"age":', '36}'];
const SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'number' } },
  required: ['name', 'age'],
  additionalProperties: false,
};
const request: ChatRequest = {
  model: 'm',
  messages: [{ role: 'user', content: 'Who wrote the first program?' }],
  output: { schema: SCHEMA, name: 'person', description: 'A person', strict: true },
};

const cases: Array<{ name: string; flavor: MockFlavor; responses?: boolean }> = [
  { name: 'anthropic', flavor: 'anthropic' },
  { name: 'openai chat', flavor: 'openai' },
  { name: 'openai responses', flavor: 'openai', responses: true },
  { name: 'groq', flavor: 'groq' },
  { name: 'openai-compatible', flavor: 'openai-compatible' },
];

/** The wire field that carried the format, as the body had it. */
function wireFormat(mock: MockProvider, flavor: MockFlavor, responses: boolean | undefined): unknown {
  const body = mock.requests[0]!.body;
  if (flavor === 'anthropic') return body.output_config;
  if (responses) return body.text;
  return body.response_format;
}

function expectedFormat(flavor: MockFlavor, responses: boolean | undefined): unknown {
  if (flavor === 'anthropic') return { format: { type: 'json_schema', schema: SCHEMA } };
  if (responses) return { format: { type: 'json_schema', name: 'person', schema: SCHEMA, description: 'A person', strict: true } };
  return { type: 'json_schema', json_schema: { name: 'person', schema: SCHEMA, description: 'A person', strict: true } };
}

describe.each(cases)('structured output: $name', ({ flavor, responses }) => {
  it('sends the schema in the wire field, streams growing partials and validates the final value', async () => {
    await withMock({ flavor, script: { text: ANSWER } }, async (mock, defaultLlm) => {
      const llm = responses ? openai({ api: 'responses', apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }) : defaultLlm;
      const values = await lastValueFrom(llm.stream(request).pipe(partialObject({ schema: Person }), toArray()));
      expect(wireFormat(mock, flavor, responses)).toEqual(expectedFormat(flavor, responses));
      expect(mock.requests[0]!.output).toEqual(SCHEMA);
      expect(values).toEqual([
        {},
        { name: 'Ada' },
        { name: 'Ada Lovelace' },
        { name: 'Ada Lovelace', age: 36 },
        { name: 'Ada Lovelace', age: 36 },
      ]);
    });
  });

  it('an answer that does not match errors with ValidationError and the raw text', async () => {
    await withMock({ flavor, script: { text: ['{"name":"Ada",', '"age":"old"}'] } }, async (mock, defaultLlm) => {
      const llm = responses ? openai({ api: 'responses', apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }) : defaultLlm;
      const error = await rejectionOf(lastValueFrom(llm.stream({ ...request, output: { schema: Person } }).pipe(partialObject({ schema: Person }))));
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).text).toBe('{"name":"Ada","age":"old"}');
      expect((error as ValidationError).usage?.outputTokens).toBeGreaterThan(0);
    });
  });
});

describe('structured output: request details', () => {
  it('a zod schema is sent as its JSON Schema, with the default name', async () => {
    await withMock({ flavor: 'openai', script: { text: ['{"name":"A","age":1}'] } }, async (mock, llm) => {
      await lastValueFrom(llm.stream({ ...request, output: { schema: Person } }));
      const format = mock.requests[0]!.body.response_format;
      expect(format.json_schema.name).toBe('output');
      expect(format.json_schema).not.toHaveProperty('strict');
      expect(format.json_schema.schema).toMatchObject({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } } });
      expect(format.json_schema.schema).not.toHaveProperty('$schema');
    });
  });

  it("anthropic: providerOptions.output_config (effort) is merged with the format, not clobbered", async () => {
    await withMock({ flavor: 'anthropic', script: { text: ['{"name":"A","age":1}'] } }, async (mock, llm) => {
      await lastValueFrom(llm.stream({ ...request, providerOptions: { output_config: { effort: 'low' } } }));
      expect(mock.requests[0]!.body.output_config).toEqual({ effort: 'low', format: { type: 'json_schema', schema: SCHEMA } });
    });
  });

  it('anthropic: a format in providerOptions.output_config beside request.output is refused', async () => {
    await withMock({ flavor: 'anthropic', script: { text: ['{}'] } }, async (mock, llm) => {
      const error = await rejectionOf(lastValueFrom(llm.stream({ ...request, providerOptions: { output_config: { format: { type: 'json_schema', schema: {} } } } })));
      expect((error as { field?: string }).field).toBe('request.providerOptions.output_config.format');
      expect(mock.requests).toHaveLength(0);
    });
  });

  it('responses: providerOptions.text (verbosity) is merged with the format', async () => {
    await withMock({ flavor: 'openai', script: { text: ['{"name":"A","age":1}'] } }, async (mock) => {
      const llm = openai({ api: 'responses', apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
      await lastValueFrom(llm.stream({ ...request, output: { schema: SCHEMA }, providerOptions: { text: { verbosity: 'low' } } }));
      expect(mock.requests[0]!.body.text).toEqual({ verbosity: 'low', format: { type: 'json_schema', name: 'output', schema: SCHEMA } });
    });
  });

  it('validateChatRequest checks output where every request is checked (before any adapter)', () => {
    const limits = { maxTemperature: 2 };
    expect(invalidArgument(() => validateChatRequest({ ...request, output: { schema: { type: 'array' } } }, limits)).field).toBe('request.output.schema');
    expect(invalidArgument(() => validateChatRequest({ ...request, output: { schema: Person, name: '' } }, limits)).field).toBe('request.output.name');
    expect(validateChatRequest(request, limits)).toBe(request);
  });

  it('a request without output sends no format and the mock records none', async () => {
    await withMock({ flavor: 'groq', script: { text: ['hi'] } }, async (mock, llm) => {
      await lastValueFrom(llm.stream({ model: 'm', messages: request.messages }));
      expect(mock.requests[0]!.body).not.toHaveProperty('response_format');
      expect(mock.requests[0]!.output).toBeUndefined();
    });
  });

  it('Agent: stream(message, { output }) sends the format', async () => {
    await withMock({ flavor: 'openai', script: { text: ['{"name":"A","age":1}'] } }, async (mock, llm) => {
      const agent = new Agent({ provider: llm, model: 'm' });
      const value = await lastValueFrom(agent.stream('Who?', { output: { schema: Person } }).pipe(partialObject({ schema: Person })));
      expect(value).toEqual({ name: 'A', age: 1 });
      expect(mock.requests[0]!.output).toMatchObject({ type: 'object' });
      await agent.processMessage('Who?', { output: { schema: SCHEMA } });
      expect(mock.requests[1]!.output).toEqual(SCHEMA);
    });
  });
});
