import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors.js';
import { validateCallOptions, validateChatRequest } from '../src/validate.js';

const ok = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const limits = { maxTemperature: 2 };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return (error as InvalidArgumentError).field;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('validateChatRequest', () => {
  it('accepts a minimal request', () => {
    expect(validateChatRequest(ok, limits)).toBe(ok);
  });

  it.each([
    ['a non-object request', null, 'request'],
    ['a missing model', { messages: ok.messages }, 'request.model'],
    ['a non-string model', { ...ok, model: 42 }, 'request.model'],
    ['an empty model', { ...ok, model: ' ' }, 'request.model'],
    ['empty messages', { ...ok, messages: [] }, 'request.messages'],
    ['messages not an array', { ...ok, messages: 'hi' }, 'request.messages'],
    ['a bad role', { ...ok, messages: [{ role: 'bot', content: 'x' }] }, 'request.messages[0].role'],
    ['non-string content', { ...ok, messages: [{ role: 'user', content: 1 }] }, 'request.messages[0].content'],
    ['an unknown message field', { ...ok, messages: [{ role: 'user', content: 'x', name: 'n' }] }, 'request.messages[0].name'],
    ['temperature above the limit', { ...ok, temperature: 2.5 }, 'request.temperature'],
    ['negative temperature', { ...ok, temperature: -0.1 }, 'request.temperature'],
    ['NaN temperature', { ...ok, temperature: Number.NaN }, 'request.temperature'],
    ['zero maxTokens', { ...ok, maxTokens: 0 }, 'request.maxTokens'],
    ['fractional maxTokens', { ...ok, maxTokens: 1.5 }, 'request.maxTokens'],
    ['stop not an array', { ...ok, stop: 'x' }, 'request.stop'],
    ['a tool without parameters', { ...ok, tools: [{ name: 't' }] }, 'request.tools[0].parameters'],
    ['providerOptions not an object', { ...ok, providerOptions: [] }, 'request.providerOptions'],
    ['an unknown field', { ...ok, max_tokens: 5 }, 'request.max_tokens'],
  ])('rejects %s, naming the field', (_label, request, field) => {
    expect(fieldOf(() => validateChatRequest(request, limits))).toBe(field);
  });

  it('suggests the field a snake_case or mistyped key meant', () => {
    expect(() => validateChatRequest({ ...ok, max_tokens: 5 }, limits)).toThrow(/did you mean request\.maxTokens/);
    expect(() => validateChatRequest({ ...ok, temprature: 1 }, limits)).toThrow(/did you mean request\.temperature/);
  });

  it('applies the provider temperature limit', () => {
    expect(fieldOf(() => validateChatRequest({ ...ok, temperature: 1.5 }, { maxTemperature: 1 }))).toBe('request.temperature');
  });
});

describe('validateCallOptions', () => {
  it('accepts a signal and rejects anything else', () => {
    expect(validateCallOptions({ signal: new AbortController().signal }).signal).toBeInstanceOf(AbortSignal);
    expect(fieldOf(() => validateCallOptions({ signal: {} }))).toBe('options.signal');
    expect(fieldOf(() => validateCallOptions({ timeout: 5 }))).toBe('options.timeout');
  });
});
