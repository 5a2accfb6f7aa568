import { firstValueFrom, of, throwError, concat } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import type { StreamMetrics, TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { metrics } from '../../src/operators/metrics.js';
import { progress } from '../../src/operators/progress.js';
import { usage } from '../../src/operators/usage.js';
import { ev, testScheduler } from '../helpers/marbles.js';

/** Tokens at t = 100, 110, 130, 160, 200, 250 (gaps 10, 20, 30, 40, 50), done at 300. */
function answer(): TokenEvent[] {
  const times = [100, 110, 130, 160, 200, 250];
  return [
    ev.start(20),
    ...times.map((t, i) => ev.tok('abcd', i, t)),
    { type: 'usage', usage: { inputTokens: 7, outputTokens: 20, estimated: false }, serverTimings: { queueMs: 3, totalMs: 90 }, t: 290 },
    ev.done(300),
  ];
}

describe('metrics()', () => {
  it('computes time to first token, rate from the provider count, gaps and server timings', async () => {
    const m = await firstValueFrom(of(...answer()).pipe(metrics()));
    expect(m).toEqual<StreamMetrics>({
      ttftMs: 100,
      elapsedMs: 300,
      tokens: 6,
      // 20 output tokens from the first token (t=100) to done (t=300): 100 tokens/s.
      tokensPerSecond: 100,
      chars: 24,
      interTokenGaps: { medianMs: 30, p90Ms: 50, maxMs: 50 },
      serverTimings: { queueMs: 3, totalMs: 90 },
    });
  });

  it('has no gaps with a single token, and the median of an even count is the mean of the middle two', async () => {
    const one = await firstValueFrom(of(ev.start(), ev.tok('hi', 0, 5), ev.usage(1, 6), ev.done(10)).pipe(metrics()));
    expect(one.interTokenGaps).toBeUndefined();
    const four = await firstValueFrom(
      of(ev.start(), ev.tok('a', 0, 0), ev.tok('b', 1, 10), ev.tok('c', 2, 30), ev.tok('d', 3, 70), ev.usage(4, 70), ev.done(80)).pipe(metrics()),
    );
    expect(four.interTokenGaps).toEqual({ medianMs: 20, p90Ms: 40, maxMs: 40 });
  });

  it('starts over after a reset', async () => {
    const events = [ev.start(), ev.tok('lost', 0, 5), ev.tok('lost', 1, 500), ev.reset('retry', 600), ev.tok('kept', 0, 700), ev.usage(1, 750), ev.done(800)];
    const m = await firstValueFrom(of(...events).pipe(metrics()));
    expect(m).toMatchObject({ ttftMs: 700, tokens: 1, chars: 4 });
    expect(m.interTokenGaps).toBeUndefined();
  });

  it('errors with ProtocolError carrying the partial text when the stream ends without done', async () => {
    const error = await firstValueFrom(of(ev.start(), ev.tok('par', 0, 1), ev.tok('tial', 1, 2)).pipe(metrics())).catch((e: unknown) => e);
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as ProtocolError).partialText).toBe('partial');
  });

  it('passes a source error through with the partial text filled in', async () => {
    const failing = concat(of(ev.start(), ev.tok('so far', 0, 1)), throwError(() => new ProtocolError('broken', 'x')));
    const error = (await firstValueFrom(failing.pipe(metrics())).catch((e: unknown) => e)) as ProtocolError;
    expect(error.message).toBe('broken');
    expect(error.partialText).toBe('so far');
  });
});

describe('usage()', () => {
  it('emits the final usage once, at completion', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const u = ev.usage(20, 9);
      const source = cold('s-a-u-d|', { s: ev.start(), a: ev.tok('x', 0), u, d: ev.done() });
      expectObservable(source.pipe(usage())).toBe('-------(x|)', { x: { inputTokens: 7, outputTokens: 20, estimated: false } });
    });
  });

  it('unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-----', { s: ev.start(), a: ev.tok('x', 0) });
      expectObservable(source.pipe(usage()), '^---!').toBe('-----');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });
});

describe('progress()', () => {
  it('emits live figures after every token, then the final metrics at done', async () => {
    const seen: StreamMetrics[] = [];
    await new Promise<void>((resolve) => of(...answer()).pipe(progress()).subscribe({ next: (m) => seen.push(m), complete: resolve }));
    expect(seen).toHaveLength(7);
    expect(seen[0]).toEqual({ ttftMs: 100, elapsedMs: 100, tokens: 1, tokensPerSecond: undefined, chars: 4 });
    // Live rate: characters / 4 per second since the first token: 12 chars = 3 tokens over 30 ms.
    expect(seen[3]).toEqual({ ttftMs: 100, elapsedMs: 160, tokens: 4, tokensPerSecond: (4 * 1000) / 60, chars: 16 });
    expect(seen[2]!.tokensPerSecond).toBeCloseTo((3 * 1000) / 30);
    const final = await firstValueFrom(of(...answer()).pipe(metrics()));
    expect(seen[6]).toEqual(final);
  });

  it('unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-----', { s: ev.start(), a: ev.tok('abcd', 0, 2) });
      expectObservable(source.pipe(progress()), '^---!').toBe('--x--', {
        x: { ttftMs: 2, elapsedMs: 2, tokens: 1, tokensPerSecond: undefined, chars: 4 },
      });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });
});

describe('tokensPerSecond: from the first output of any kind (issue 13)', () => {
  /** 20 s of reasoning (t 0 … 20,000), then text from 20,000 to 22,000; 2,100 output tokens in all. */
  function reasoningAnswer(): TokenEvent[] {
    return [
      ev.start(0),
      { type: 'reasoning', text: 'a'.repeat(400), t: 0 },
      { type: 'reasoning', text: 'b'.repeat(400), t: 20_000 },
      ev.tok('x'.repeat(400), 0, 20_000),
      ev.tok('y'.repeat(400), 1, 22_000),
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 2_100, estimated: false }, t: 22_000 },
      ev.done(22_000),
    ];
  }

  it('divides the output tokens by the time since the first reasoning; ttftMs stays the first text token', async () => {
    const m = await firstValueFrom(of(...reasoningAnswer()).pipe(metrics()));
    // 2,100 tokens over 22 s: 95.45 tokens/s (not 2,100 over the 2 s of text: 1,050).
    expect(m.tokensPerSecond).toBeCloseTo(2_100 / 22, 6);
    expect(m.ttftMs).toBe(20_000);
    const answer = await firstValueFrom(of(...reasoningAnswer()).pipe(collect()));
    expect(answer.metrics).toEqual(m);
  });

  it('progress() estimates the live rate from all output since the first output', async () => {
    const seen: StreamMetrics[] = [];
    await new Promise<void>((resolve) =>
      of(...reasoningAnswer()).pipe(progress()).subscribe({ next: (m) => seen.push(m), complete: resolve }),
    );
    // At the first text token (t 20,000): 800 reasoning + 400 text characters ≈ 300 tokens in 20 s.
    expect(seen[0]).toEqual({ ttftMs: 20_000, elapsedMs: 20_000, tokens: 1, tokensPerSecond: 15, chars: 400 });
    // The last emission is the final figure.
    expect(seen.at(-1)!.tokensPerSecond).toBeCloseTo(2_100 / 22, 6);
  });

  it('a tool-only answer has a rate too, from its first tool-call fragment', async () => {
    const events: TokenEvent[] = [
      ev.start(0),
      { type: 'tool-call', index: 0, id: 'call_1', name: 'lookup', argsDelta: '{"q":', t: 1_000 },
      { type: 'tool-call', index: 0, argsDelta: '"x"}', t: 3_000 },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 40, estimated: false }, t: 3_000 },
      { type: 'done', stopReason: 'tool_use', t: 3_000 },
    ];
    const m = await firstValueFrom(of(...events).pipe(metrics()));
    expect(m).toMatchObject({ ttftMs: undefined, tokens: 0, tokensPerSecond: 20 });
  });

  it('starts over after a reset', async () => {
    const events: TokenEvent[] = [
      ev.start(0),
      { type: 'reasoning', text: 'lost', t: 0 },
      ev.reset('retry', 1_000),
      { type: 'reasoning', text: 'kept', t: 5_000 },
      ev.tok('answer', 0, 6_000),
      ev.usage(100, 7_000),
      ev.done(7_000),
    ];
    const m = await firstValueFrom(of(...events).pipe(metrics()));
    expect(m.tokensPerSecond).toBeCloseTo(50, 6);
  });
});
