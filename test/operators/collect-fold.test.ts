/**
 * What the fold behind collect() must keep while it does less per event: gap statistics exactly
 * those of the sorted gaps (found by selection now), a loop's steps built only at the end yet equal
 * to what their `step-finish` reported, tool results on their step whenever the answer is built,
 * and a message's text pieces cut from one running text (after a `reset` too).
 */
import fc from 'fast-check';
import { firstValueFrom, from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { InterTokenGaps, StreamMetrics, TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { ResponseBuilder } from '../../src/response-builder.js';

/** The statistics by the definition: sort the gaps (as a Float64Array, NaN last, -0 before 0), read the ranks. */
function reference(times: readonly number[]): InterTokenGaps | undefined {
  if (times.length < 2) return undefined;
  const sorted = Float64Array.from(times.slice(1), (t, i) => t - times[i]!).sort();
  const n = sorted.length;
  const mid = n >> 1;
  return {
    medianMs: n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    p90Ms: sorted[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]!,
    maxMs: sorted[n - 1]!,
  };
}

const tokensAt = (times: readonly number[]): TokenEvent[] => [
  { type: 'start', provider: 'p', model: 'm', t: 0 },
  ...times.map((t, index): TokenEvent => ({ type: 'token', text: 'x', index, t })),
  { type: 'done', stopReason: 'end', t: 1e6 },
];

const gapsOf = async (times: readonly number[]) => (await firstValueFrom(from(tokensAt(times)).pipe(collect()))).metrics.interTokenGaps;

describe('collect(): inter-token gap statistics', () => {
  it('equal those of the sorted gaps, for any token times (runs of equal gaps, disorder, NaN, -0)', async () => {
    const time = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: -1e3, max: 1e3 }), fc.constantFrom(0, -0, Number.NaN, 1e-300));
    await fc.assert(
      fc.asyncProperty(fc.array(time, { maxLength: 400 }), async (times) => {
        expect(await gapsOf(times)).toEqual(reference(times));
      }),
      { numRuns: 400 },
    );
  });

  it('equal those of the sorted gaps for long answers: ascending, descending, constant and sawtooth gaps', async () => {
    const shapes: Array<(i: number) => number> = [(i) => i, (i) => -i, () => 7, (i) => i % 17, (i) => (i * 7919) % 2003, (i) => (i % 2 ? i : -i)];
    for (const gap of shapes) {
      for (const n of [2, 3, 10, 11, 2000, 2001]) {
        const times = [0];
        for (let i = 0; i < n; i++) times.push(times[i]! + gap(i));
        expect(await gapsOf(times)).toEqual(reference(times));
      }
    }
  });
});

describe('collect() of a tool loop', () => {
  const stepMetrics: StreamMetrics = { ttftMs: 1, elapsedMs: 4, tokens: 2, tokensPerSecond: undefined, chars: 2 };
  const loop: TokenEvent[] = [
    { type: 'step-start', step: 0, t: 10 },
    { type: 'start', provider: 'p', model: 'm', t: 11 },
    { type: 'token', text: 'ab', index: 0, t: 12 },
    { type: 'token', text: 'é!', index: 1, t: 12.5 },
    { type: 'tool-call', index: 0, id: 'c1', name: 'get', argsDelta: '{"q":1}', t: 13 },
    { type: 'token', text: 'cd', index: 1, t: 14 },
    { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, estimated: false }, t: 15 },
    { type: 'step-finish', step: 0, usage: { inputTokens: 1, outputTokens: 2, estimated: false }, stopReason: 'tool_use', metrics: stepMetrics, t: 16 },
    { type: 'tool-result', step: 0, id: 'c1', name: 'get', output: 'got', isError: false, durationMs: 1, t: 17 },
    { type: 'step-start', step: 1, t: 20 },
    { type: 'start', provider: 'p', model: 'm', t: 21 },
    { type: 'token', text: 'lost', index: 2, t: 22 },
    { type: 'reset', reason: 'retry', t: 23 },
    { type: 'token', text: 'Done', index: 3, t: 24 },
    { type: 'token', text: '.', index: 4, t: 26 },
    { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, estimated: false }, t: 27 },
    { type: 'step-finish', step: 1, usage: { inputTokens: 3, outputTokens: 2, estimated: false }, stopReason: 'end', t: 28 },
    { type: 'usage', usage: { inputTokens: 4, outputTokens: 4, estimated: false }, t: 29 },
    { type: 'done', stopReason: 'end', t: 30 },
  ];

  it("keeps each step's answer, text pieces around its calls, its results, and step-finish's metrics", async () => {
    const response = await firstValueFrom(from(loop).pipe(collect()));
    const [first, second] = response.steps!;
    expect(first!.message).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'abé!' },
        { type: 'tool-call', id: 'c1', name: 'get', input: { q: 1 } },
        { type: 'text', text: 'cd' },
      ],
    });
    expect(first!.content).toBe('abé!cd');
    expect(first!.metrics).toBe(stepMetrics);
    expect(first!.toolResults).toEqual([{ id: 'c1', name: 'get', output: 'got', isError: false, durationMs: 1 }]);
    // A step without reported metrics measures its own from its step-start, the reset forgetting 'lost'.
    expect(second!.content).toBe('Done.');
    expect(second!.message).toEqual({ role: 'assistant', content: 'Done.' });
    expect(second!.metrics).toMatchObject({ ttftMs: 4, elapsedMs: 8, tokens: 2, interTokenGaps: { medianMs: 2, p90Ms: 2, maxMs: 2 } });
    expect(response.content).toBe('Done.');
    expect(response.usage).toEqual({ inputTokens: 4, outputTokens: 4, estimated: false });
    // The loop's own figures count every token since subscription, across steps.
    expect(response.metrics).toMatchObject({ ttftMs: 12, elapsedMs: 30, tokens: 6 });
    expect(response.metrics.interTokenGaps).toEqual(reference([12, 12.5, 14, 22, 24, 26]));
  });

  it('puts a tool result on its step when the answer was already built before it arrived', () => {
    const builder = new ResponseBuilder();
    const resultAt = loop.findIndex((e) => e.type === 'tool-result');
    for (const event of loop.slice(0, resultAt)) builder.push(event);
    expect(builder.build().steps![0]!.toolResults).toBeUndefined();
    for (const event of loop.slice(resultAt)) builder.push(event);
    const response = builder.build();
    expect(response.steps![0]!.toolResults).toEqual([{ id: 'c1', name: 'get', output: 'got', isError: false, durationMs: 1 }]);
    expect(response.messages!.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
  });
});

/**
 * The fold by the definition, one event at a time: the loop's text grows by every token and a reset
 * cuts it back (a step's reset to where that step began, any other to nothing); its figures count
 * every token since subscription; a step's text is its tokens since its start or its last reset.
 */
class NaiveLoopFold {
  text = '';
  tokens = 0;
  chars = 0;
  times: number[] = [];
  steps: string[] = [];
  private mark: number | undefined;
  private step: number | undefined;
  private stepText: string | undefined;

  push(event: TokenEvent): void {
    switch (event.type) {
      case 'step-start':
        this.steps.length = Math.min(this.steps.length, event.step);
        this.mark = this.text.length;
        this.step = event.step;
        this.stepText = '';
        return;
      case 'token':
        this.text += event.text;
        this.tokens++;
        this.chars += event.text.length;
        this.times.push(event.t);
        if (this.stepText !== undefined) this.stepText += event.text;
        return;
      case 'reset': {
        const stepReset = this.mark !== undefined && event.step !== undefined && event.step === this.step;
        this.text = stepReset ? this.text.slice(0, this.mark) : '';
        if (!stepReset && this.mark !== undefined) this.mark = 0;
        if (this.stepText !== undefined) this.stepText = '';
        return;
      }
      case 'step-finish':
        if (this.stepText === undefined) return;
        this.steps.push(this.stepText);
        this.stepText = undefined;
        return;
      default:
        return;
    }
  }
}

describe("collect(): a loop's own figures, taken from each step's when it ends", () => {
  type Op = { op: 'token'; text: string } | { op: 'call' } | { op: 'next-step' } | { op: 'finish' } | { op: 'reset'; which: 'step' | 'earlier' | 'all' } | { op: 'restart' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.string({ maxLength: 3 }).map((text): Op => ({ op: 'token', text })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'call' }) },
    { weight: 2, arbitrary: fc.constant<Op>({ op: 'next-step' }) },
    { weight: 2, arbitrary: fc.constant<Op>({ op: 'finish' }) },
    { weight: 1, arbitrary: fc.constantFrom<Op>({ op: 'reset', which: 'step' }, { op: 'reset', which: 'earlier' }, { op: 'reset', which: 'all' }) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'restart' }) },
  );

  /**
   * A loop stream from the ops, with whole-number times (so every gap is exact) that may repeat;
   * its last step finishes, or is cut off by `done` (a stream that lost its `step-finish`).
   */
  function streamOf(ops: readonly Op[], steps: readonly number[], finishLast: boolean): TokenEvent[] {
    let t = 0;
    let step = -1;
    let index = 0;
    let delay = 0;
    const at = () => (t += steps[delay++ % steps.length]!);
    const events: TokenEvent[] = [{ type: 'step-start', step: ++step, t: at() }, { type: 'start', provider: 'p', model: 'm', t: at() }];
    for (const o of ops) {
      switch (o.op) {
        case 'token':
          events.push({ type: 'token', text: o.text, index: index++, t: at() });
          break;
        case 'call':
          events.push({ type: 'tool-call', index: 0, id: `c${step}`, name: 'f', argsDelta: '{}', t: at() });
          break;
        case 'next-step':
          events.push({ type: 'step-start', step: ++step, t: at() });
          break;
        case 'finish':
          events.push({ type: 'step-finish', step, usage: { inputTokens: 1, outputTokens: 1, estimated: false }, stopReason: 'tool_use', t: at() });
          break;
        case 'reset':
          events.push({ type: 'reset', reason: 'retry', ...(o.which === 'all' ? {} : { step: o.which === 'step' ? step : step - 1 }), t: at() });
          break;
        case 'restart':
          events.push({ type: 'reset', reason: 'retry', t: at() }, { type: 'step-start', step: (step = 0), t: at() });
          break;
      }
    }
    if (finishLast) events.push({ type: 'step-finish', step, usage: { inputTokens: 1, outputTokens: 1, estimated: false }, stopReason: 'end', t: at() });
    events.push({ type: 'done', stopReason: 'end', t: at() });
    return events;
  }

  /** Both folds over the events, `check` after every event; the builder's answer and the naive fold. */
  function foldBoth(events: readonly TokenEvent[], check: (builder: ResponseBuilder, naive: NaiveLoopFold, event: TokenEvent) => void) {
    const builder = new ResponseBuilder();
    const naive = new NaiveLoopFold();
    for (const event of events) {
      builder.push(event);
      naive.push(event);
      check(builder, naive, event);
    }
    return { response: builder.build(), naive };
  }

  it('equal the fold by the definition after every event (text, live figures) and at the end (metrics, steps), for any loop stream', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 7 }), fc.boolean(), (ops, delays, finishLast) => {
        const events = streamOf(ops, delays, finishLast);
        const { response, naive } = foldBoth(events, (builder, naive, event) => {
          expect(builder.text()).toBe(naive.text);
          expect(builder.live(event.t)).toMatchObject({ tokens: naive.tokens, chars: naive.chars, ttftMs: naive.times[0] });
        });
        expect(response.metrics).toMatchObject({ tokens: naive.tokens, chars: naive.chars, ttftMs: naive.times[0], elapsedMs: events.at(-1)!.t });
        expect(response.metrics.interTokenGaps).toEqual(reference(naive.times));
        expect(response.steps!.map((s) => s.content)).toEqual(naive.steps);
      }),
      { numRuns: 400 },
    );
  });

  it("a figures-only builder (progress()'s) gives the full builder's live figures after every event and its final metrics, for any loop stream", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 7 }), fc.boolean(), (ops, delays, finishLast) => {
        const events = streamOf(ops, delays, finishLast);
        const full = new ResponseBuilder();
        const figures = new ResponseBuilder(false);
        for (const event of events) {
          full.push(event);
          figures.push(event);
          expect(figures.live(event.t)).toEqual(full.live(event.t));
        }
        expect(figures.metrics()).toEqual(full.metrics());
      }),
      { numRuns: 400 },
    );
  });

  it('a figures-only builder refuses to give an answer it never kept, rather than an empty one', () => {
    const figures = new ResponseBuilder(false);
    for (const event of streamOf([{ op: 'token', text: 'ab' }], [1], true)) figures.push(event);
    expect(figures.metrics().chars).toBe(2);
    expect(() => figures.text()).toThrow(/without its text/);
    expect(() => figures.build()).toThrow(/without its text/);
    expect(() => figures.message()).toThrow(/without its text/);
  });

  it("keep the first token's time exact, and every gap to within rounding, when times are fractions of a millisecond", () => {
    const delay = fc.double({ min: 0, max: 50, noNaN: true });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(delay, { minLength: 1, maxLength: 7 }), fc.boolean(), (ops, delays, finishLast) => {
        const events = streamOf(ops, delays, finishLast);
        const {
          response: { metrics },
          naive,
        } = foldBoth(events, (builder, naive, event) => expect(builder.live(event.t).ttftMs).toBe(naive.times[0]));
        expect(metrics.ttftMs).toBe(naive.times[0]);
        const expected = reference(naive.times);
        if (!expected) expect(metrics.interTokenGaps).toBeUndefined();
        else for (const key of ['medianMs', 'p90Ms', 'maxMs'] as const) expect(metrics.interTokenGaps![key]).toBeCloseTo(expected[key], 9);
      }),
      { numRuns: 200 },
    );
  });
});
