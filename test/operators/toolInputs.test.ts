/**
 * toolInputs(): live tool inputs from partial JSON. A property test over any JSON object split any
 * way, examples for the stream shapes (interleaved calls, reset, a tool loop's steps, a cut answer),
 * marbles with unsubscription, and the operator over real HTTP through every adapter and a real
 * Agent loop.
 */
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import type { TokenEvent, ToolCallEvent } from '../../src/events.js';
import { toolInputs, type ToolInput, type ToolInputUpdate } from '../../src/operators/toolInputs.js';
import { startMockProvider } from '../../src/testing/index.js';
import { isPrefixConsistent } from '../helpers/json-prefix.js';
import { ev, testScheduler } from '../helpers/marbles.js';
import { ADAPTER_LABELS, flavorOf, makeAdapter, makeProvider } from '../helpers/mock.js';

const call = (index: number, argsDelta: string, extra: Partial<ToolCallEvent> = {}): TokenEvent => ({ type: 'tool-call', index, argsDelta, t: 0, ...extra });
const named = (index: number, name: string, argsDelta = ''): TokenEvent => call(index, argsDelta, { id: `call_${index}`, name });
const stepStart = (step: number): TokenEvent => ({ type: 'step-start', step, t: 0 });
const stepFinish = (step: number): TokenEvent => ({
  type: 'step-finish',
  step,
  usage: { inputTokens: 1, outputTokens: 1, estimated: false },
  stopReason: 'tool_use',
  t: 0,
});

/** Runs a synchronous event list through the operator. */
function updatesOf(events: TokenEvent[]): ToolInputUpdate[] {
  const updates: ToolInputUpdate[] = [];
  from(events).pipe(toolInputs()).subscribe((u) => updates.push(u));
  return updates;
}
const inputsOnly = (updates: ToolInputUpdate[]): ToolInput[] => updates.filter((u): u is ToolInput => u.type === 'tool-input');

/** The events of one answer whose one call's arguments arrive as `fragments`. */
const answerWith = (fragments: string[]): TokenEvent[] => [
  ev.start(),
  named(0, 'f', fragments[0] ?? ''),
  ...fragments.slice(1).map((f) => call(0, f)),
  ev.usage(3),
  ev.done(),
];

describe('toolInputs(): property', () => {
  it('every partial is prefix-consistent with the final input, which equals JSON.parse, for any value split any way', () => {
    const value = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }), { maxKeys: 6 });
    const spacing = fc.constantFrom<undefined | number | string>(undefined, 2, '\t', ' \n ');
    fc.assert(
      fc.property(value, spacing, fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (object, space, cuts, byChar) => {
        const text = JSON.stringify(object, null, space);
        const points = byChar
          ? Array.from({ length: text.length - 1 }, (_, i) => i + 1)
          : [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const fragments: string[] = [];
        let at = 0;
        for (const p of [...points, text.length]) {
          fragments.push(text.slice(at, p));
          at = p;
        }
        const final = JSON.parse(text) as unknown;
        const updates = inputsOnly(updatesOf(answerWith(fragments)));
        for (const u of updates) expect(isPrefixConsistent(u.input, final), `${JSON.stringify(u.input)} of ${text}`).toBe(true);
        // Only the last emission is done, and it is exactly JSON.parse of the whole text.
        expect(updates.filter((u) => u.done)).toHaveLength(1);
        const last = updates.at(-1);
        expect(last?.done).toBe(true);
        expect(last?.input).toEqual(final);
        expect(last?.arguments).toBe(text);
        expect(last?.error).toBeUndefined();
        // An emission means a change: never the same input twice in a row while still partial.
        for (let i = 1; i < updates.length; i++) {
          const [a, b] = [updates[i - 1], updates[i]];
          if (a && b && !b.done && a.name === b.name) expect(JSON.stringify(b.input)).not.toBe(JSON.stringify(a.input));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is done as soon as the JSON closes, before the answer ends', () => {
    const updates: ToolInputUpdate[] = [];
    const events = answerWith(['{"a":', ' [1, {"b": 2}', ']}']);
    from(events.slice(0, 4)).pipe(toolInputs()).subscribe((u) => updates.push(u));
    expect(inputsOnly(updates).map((u) => [u.input, u.done])).toEqual([
      [{}, false],
      [{ a: [1, { b: 2 }] }, false],
      [{ a: [1, { b: 2 }] }, true],
    ]);
  });
});

describe('toolInputs(): examples', () => {
  it("keeps interleaved parallel calls apart by index (OpenAI Chat's order)", () => {
    const updates = updatesOf([
      ev.start(),
      named(0, 'weather', '{"city": "Par'),
      named(1, 'time', '{"zone": "Europe/'),
      call(0, 'is"'),
      call(1, 'Paris"}'),
      call(0, '}'),
      ev.usage(5),
      ev.done(),
    ]);
    expect(inputsOnly(updates).map((u) => [u.index, u.name, u.input, u.done])).toEqual([
      [0, 'weather', { city: 'Par' }, false],
      [1, 'time', { zone: 'Europe/' }, false],
      [0, 'weather', { city: 'Paris' }, false],
      [1, 'time', { zone: 'Europe/Paris' }, true],
      [0, 'weather', { city: 'Paris' }, true],
    ]);
    expect(updates.every((u) => !('step' in u))).toBe(true);
  });

  it('emits a call as soon as it is named, before any input', () => {
    const [first] = updatesOf([ev.start(), named(0, 'lookup')]);
    expect(first).toEqual({ type: 'tool-input', index: 0, id: 'call_0', name: 'lookup', input: undefined, arguments: '', done: false });
  });

  it('emits nothing for a fragment that does not change the input (whitespace, an opening key)', () => {
    const updates = updatesOf([ev.start(), named(0, 'f', '{'), call(0, '  '), call(0, '"ke'), call(0, 'y": '), call(0, '"v'), ev.done()]);
    expect(inputsOnly(updates).map((u) => u.input)).toEqual([{}, { key: 'v' }, { key: 'v' }]);
    expect(updates.at(-1)).toMatchObject({ done: true, error: expect.stringContaining('not valid JSON') });
  });

  it('on reset emits a reset, forgets the calls, and starts over from index 0', () => {
    const updates = updatesOf([
      ev.start(),
      named(0, 'f', '{"q": "fir'),
      ev.reset('retry after a dropped connection'),
      named(0, 'f', '{"q": "second"}'),
      ev.usage(2),
      ev.done(),
    ]);
    expect(updates.map((u) => (u.type === 'reset' ? ['reset', u.reason] : [u.index, u.input, u.done]))).toEqual([
      [0, { q: 'fir' }, false],
      ['reset', 'retry after a dropped connection'],
      [0, { q: 'second' }, true],
    ]);
  });

  it('in a tool loop, keys calls by step (index restarts) and a reset clears only its step', () => {
    const updates = updatesOf([
      stepStart(0),
      ev.start(),
      named(0, 'search', '{"q": "a'),
      call(0, 'b"}'),
      ev.usage(3),
      stepFinish(0),
      { type: 'tool-result', step: 0, id: 'call_0', name: 'search', output: 'ok', isError: false, durationMs: 1, t: 0 },
      stepStart(1),
      ev.start(),
      named(0, 'read', '{"page": 1'),
      { type: 'reset', reason: 'retry', step: 1, t: 0 },
      named(0, 'read', '{"page": 2}'),
      ev.usage(3),
      stepFinish(1),
      ev.usage(6),
      ev.done(),
    ]);
    expect(updates.map((u) => (u.type === 'reset' ? ['reset', u.step] : [u.step, u.index, u.name, u.input, u.done]))).toEqual([
      [0, 0, 'search', { q: 'a' }, false],
      [0, 0, 'search', { q: 'ab' }, true],
      [1, 0, 'read', {}, false],
      ['reset', 1],
      [1, 0, 'read', { page: 2 }, true],
    ]);
  });

  it('in a tool loop, a reset without a step (the whole loop retried) clears every call, not only the current step\'s', () => {
    const updates = updatesOf([
      stepStart(0),
      named(0, 'search', '{"q": "a"}'),
      stepFinish(0),
      stepStart(1),
      named(0, 'read', '{"page": 1'),
      ev.reset('the loop starts over'),
      stepStart(0),
      named(0, 'search', '{"q": "b"}'),
      stepFinish(0),
    ]);
    expect(updates.map((u) => (u.type === 'reset' ? ['reset', u.step] : [u.step, u.index, u.name, u.input, u.done]))).toEqual([
      [0, 0, 'search', { q: 'a' }, true],
      [1, 0, 'read', {}, false],
      ['reset', undefined],
      [0, 0, 'search', { q: 'b' }, true],
    ]);
  });

  it('closes an open call when its step finishes, without waiting for the loop to end', () => {
    const updates = updatesOf([stepStart(0), named(0, 'f', '{"n": 12'), stepFinish(0)]);
    expect(inputsOnly(updates).map((u) => [u.input, u.done, u.error])).toEqual([
      [{}, false, undefined],
      [{}, true, expect.stringContaining('not valid JSON')],
    ]);
  });

  it('a cut answer (max_tokens) ends the call done with the partial input and an error, and the stream goes on', () => {
    const events: TokenEvent[] = [ev.start(), named(0, 'f', '{"note": "half'), ev.usage(9), { type: 'done', stopReason: 'max_tokens', t: 0 }];
    let completed = false;
    const updates: ToolInputUpdate[] = [];
    from(events).pipe(toolInputs()).subscribe({ next: (u) => updates.push(u), complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(updates.at(-1)).toMatchObject({ done: true, input: { note: 'half' }, arguments: '{"note": "half', error: expect.stringContaining('max_tokens') });
  });

  it('reads empty arguments as {} (a tool without input), as collect() does', () => {
    expect(updatesOf([ev.start(), named(0, 'now'), ev.usage(1), ev.done()]).at(-1)).toMatchObject({ input: {}, done: true });
  });

  it('passes a custom_tool_call (free-form input) through as raw text', () => {
    const updates = inputsOnly(
      updatesOf([ev.start(), call(0, '', { id: 'ctc_1', name: 'grep', kind: 'custom_tool_call' }), call(0, 'foo '), call(0, 'bar}'), ev.done()]),
    );
    expect(updates.map((u) => [u.kind, u.input, u.done])).toEqual([
      ['custom_tool_call', undefined, false],
      ['custom_tool_call', 'foo ', false],
      ['custom_tool_call', 'foo bar}', false],
      ['custom_tool_call', 'foo bar}', true],
    ]);
  });

  it('text that can never be JSON: keeps the last partial input, emits nothing more until the answer ends, then done with where it broke', () => {
    const updates = inputsOnly(updatesOf([ev.start(), named(0, 'f', '{"a": "x", '), call(0, 'oops'), call(0, '"b": 1}'), ev.usage(1), ev.done()]));
    expect(updates.map((u) => [u.input, u.done])).toEqual([
      [{ a: 'x' }, false],
      [{ a: 'x' }, true],
    ]);
    expect(updates.at(-1)?.error).toMatch(/not valid JSON at position 11 .*'o': expected a string key/);
  });

  it('an unchanged part of the input is the same object in the next emission', () => {
    const updates = inputsOnly(updatesOf([ev.start(), named(0, 'f', '{"done": {"x": [1]}, "list": ["a"'), call(0, ', "b"')]));
    const [first, second] = updates.map((u) => u.input as { done: object; list: string[] });
    expect(second).toEqual({ done: { x: [1] }, list: ['a', 'b'] });
    expect(second?.done).toBe(first?.done);
    expect(first?.list).toEqual(['a']);
  });

  it('reports text after complete JSON once, done with an error', () => {
    const updates = inputsOnly(updatesOf([ev.start(), named(0, 'f', '{"a": 1}'), call(0, '\n'), call(0, ' x'), call(0, 'y'), ev.done()]));
    expect(updates.map((u) => [u.input, u.done, u.error !== undefined])).toEqual([
      [{ a: 1 }, true, false],
      [{ a: 1 }, true, true],
    ]);
  });
});

describe('toolInputs(): marbles', () => {
  const values = {
    s: ev.start(),
    a: named(0, 'f', '{"ci'),
    b: call(0, 'ty": "Li'),
    c: call(0, 'sbon"}'),
    w: call(0, ' '),
    u: ev.usage(2),
    d: ev.done(),
    r: ev.reset(),
  };
  const base = { type: 'tool-input' as const, index: 0, id: 'call_0', name: 'f' };

  it('emits the growing input and the done one', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('s-a-b-c-w-u-d|', values).pipe(toolInputs())).toBe('--a-b-c------|', {
        a: { ...base, input: {}, arguments: '{"ci', done: false },
        b: { ...base, input: { city: 'Li' }, arguments: '{"city": "Li', done: false },
        c: { ...base, input: { city: 'Lisbon' }, arguments: '{"city": "Lisbon"}', done: true },
      });
    });
  });

  it('passes errors through, and unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('s-a-#', values, new Error('boom'));
      expectObservable(failing.pipe(toolInputs())).toBe('--a-#', { a: { ...base, input: {}, arguments: '{"ci', done: false } }, new Error('boom'));
      const endless = cold('s-a-b-c---', values);
      expectObservable(endless.pipe(toolInputs()), '^----!').toBe('--a-b-', {
        a: { ...base, input: {}, arguments: '{"ci', done: false },
        b: { ...base, input: { city: 'Li' }, arguments: '{"city": "Li', done: false },
      });
      expectSubscriptions(endless.subscriptions).toBe('^----!');
    });
  });
});

describe('toolInputs(): over real HTTP', () => {
  const FRAGMENTS = ['{"ci', 'ty": "Lis', 'bon", "days": [1', ', 2', ', 3]', ', "unit": "c"}'];
  const FINAL = { city: 'Lisbon', days: [1, 2, 3], unit: 'c' };
  const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'Weather?' }] };

  for (const label of ADAPTER_LABELS) {
    it(`${label}: partial inputs fill in as the fragments arrive, then the final one`, async () => {
      const mock = await startMockProvider({ flavor: flavorOf(label), script: { toolCalls: [{ id: 'call_w', name: 'weather', arguments: FRAGMENTS }] } });
      try {
        const updates = inputsOnly(await lastValueFrom(makeAdapter(label, mock.baseURL).stream(REQUEST).pipe(toolInputs(), toArray())));
        expect(updates.every((u) => u.index === 0 && u.name === 'weather')).toBe(true);
        expect(updates.filter((u) => u.input !== undefined).map((u) => u.input)).toEqual([
          {},
          { city: 'Lis' },
          { city: 'Lisbon', days: [] },
          { city: 'Lisbon', days: [1] },
          { city: 'Lisbon', days: [1, 2, 3] },
          FINAL,
        ]);
        expect(updates.at(-1)).toMatchObject({ id: 'call_w', done: true, input: FINAL, arguments: FRAGMENTS.join('') });
        expect(updates.filter((u) => u.done)).toHaveLength(1);
      } finally {
        await mock.close();
      }
    });
  }

  it("an Agent's tool loop: each step's calls carry their step", async () => {
    const mock = await startMockProvider({
      flavor: 'anthropic',
      script: (request) =>
        request.index < 2
          ? { toolCalls: [{ id: `toolu_${request.index}`, name: 'weather', arguments: ['{"city": "', request.index === 0 ? 'Lisbon"}' : 'Porto"}'] }] }
          : { text: 'Both sunny.' },
    });
    try {
      const weather = tool({
        description: 'Weather in a city.',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        execute: (input) => ({ city: (input as { city: string }).city, sky: 'sunny' }),
      });
      const agent = new Agent({ provider: makeProvider('anthropic', mock), model: 'm' });
      const updates = inputsOnly(await lastValueFrom(agent.stream('Weather?', { tools: { weather }, maxSteps: 3 }).pipe(toolInputs(), toArray())));
      expect(updates.filter((u) => u.done).map((u) => [u.step, u.index, u.id, u.input])).toEqual([
        [0, 0, 'toolu_0', { city: 'Lisbon' }],
        [1, 0, 'toolu_1', { city: 'Porto' }],
      ]);
      expect(updates.some((u) => u.step === 1 && !u.done && JSON.stringify(u.input) === '{"city":""}')).toBe(true);
    } finally {
      await mock.close();
    }
  });
});
