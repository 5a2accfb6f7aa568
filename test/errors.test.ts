import { describe, expect, it, vi } from 'vitest';
import * as errors from '../src/errors.js';

async function secondCopy(): Promise<typeof errors> {
  vi.resetModules();
  return import('../src/errors.js');
}

describe('error hierarchy', () => {
  it('isInstance recognises errors from another copy of the library, where instanceof cannot', async () => {
    const other = await secondCopy();
    expect(other.ProviderError).not.toBe(errors.ProviderError);
    const error = new other.ProviderError('boom', { retryable: true, status: 429, provider: 'x' });
    expect(error instanceof errors.ProviderError).toBe(false);
    expect(errors.ProviderError.isInstance(error)).toBe(true);
    expect(errors.TokenflowError.isInstance(error)).toBe(true);
    expect(errors.ConnectionError.isInstance(error)).toBe(false);
  });

  it('isInstance follows the subclass chain and rejects look-alikes', () => {
    const missing = new errors.MissingApiKeyError('Anthropic', 'ANTHROPIC_API_KEY', 'anthropic');
    expect(errors.MissingApiKeyError.isInstance(missing)).toBe(true);
    expect(errors.InvalidArgumentError.isInstance(missing)).toBe(true);
    expect(errors.TokenflowError.isInstance(missing)).toBe(true);
    expect(errors.ProviderError.isInstance(missing)).toBe(false);
    expect(errors.TokenflowError.isInstance(new Error('plain'))).toBe(false);
    expect(errors.TokenflowError.isInstance({ name: 'TokenflowError' })).toBe(false);
    expect(errors.TokenflowError.isInstance(null)).toBe(false);
  });

  it('names each class, keeps the cause, and carries the stream context', () => {
    const cause = new Error('socket hang up');
    const error = new errors.ConnectionError('lost', { partialText: 'Hel', usage: { inputTokens: 1, outputTokens: 1, estimated: true }, cause });
    expect(error.name).toBe('ConnectionError');
    expect(error.cause).toBe(cause);
    expect(error.partialText).toBe('Hel');
    expect(error.retryable).toBe(true);
    expect(error.usage?.estimated).toBe(true);
  });

  it('withContext fills in missing context without overwriting what is known', () => {
    const error = new errors.ProtocolError('bad', 'data: {', { partialText: 'a' });
    error.withContext({ partialText: 'ab', provider: 'openai' });
    expect([error.partialText, error.provider, error.line]).toEqual(['a', 'openai', 'data: {']);
  });

  it('RemoteStreamError carries errorType when the serialized error has one, and not otherwise', () => {
    const typed = new errors.RemoteStreamError({ type: 'error', name: 'ProviderError', message: 'm', status: 529, errorType: 'overloaded_error' });
    expect(typed.errorType).toBe('overloaded_error');
    const plain = new errors.RemoteStreamError({ type: 'error', name: 'ProviderError', message: 'm' });
    expect(plain.errorType).toBeUndefined();
  });

  it('StreamTimeoutError says which timeout fired', () => {
    const error = new errors.StreamTimeoutError('first-token', 500);
    expect([error.kind, error.timeoutMs]).toEqual(['first-token', 500]);
    expect(error.message).toContain('500 ms');
  });
});
