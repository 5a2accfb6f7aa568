import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateTokens, loadTokenizer } from '../src/estimate.js';
import { openaiCompatible } from '../src/providers/openai-compatible.js';
import { startMockProvider } from '../src/testing/index.js';
import { run } from './helpers/run.js';

const ANSWER = 'Tokenizers split text into pieces: naïve café, 東京タワー, and emoji 🚀 count differently.';

describe('token estimates without provider usage', () => {
  it('loads the tokenizer on first need and counts the answer and the prompt with it', async () => {
    const mock = await startMockProvider({ flavor: 'openai-compatible', script: { text: ANSWER, usage: false } });
    try {
      const llm = openaiCompatible({ baseURL: mock.baseURL, maxRetries: 0 });
      const prompt = 'Say something about tokenizers, please, in one sentence.';
      const outcome = await run(llm.stream({ model: 'm', system: 'Be brief.', messages: [{ role: 'user', content: prompt }] }));
      expect(outcome.error).toBeUndefined();
      const usage = outcome.events.find((e) => e.type === 'usage');
      expect(usage?.type === 'usage' && usage.usage).toEqual({
        inputTokens: countTokens('Be brief.') + countTokens(prompt),
        outputTokens: countTokens(ANSWER),
        estimated: true,
      });
      // The estimate is a real BPE count, not the characters/4 rule.
      expect(countTokens(ANSWER)).not.toBe(Math.ceil(ANSWER.length / 4));
      expect(outcome.events.at(-1)?.type).toBe('done');
    } finally {
      await mock.close();
    }
  });

  it('estimateTokens counts strings with the tokenizer once loaded and character counts by the 4-chars rule', async () => {
    await loadTokenizer();
    expect(estimateTokens(ANSWER)).toBe(countTokens(ANSWER));
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens(400)).toBe(100);
    expect(estimateTokens(1)).toBe(1);
    expect(estimateTokens(0)).toBe(0);
  });
});
