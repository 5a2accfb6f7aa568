/**
 * `npx tsx bench/partial-json.ts`: what showing a JSON value while it streams costs, the figures
 * docs/tools.md quotes. Three shapes (an object of records, one long string field, a flat array of
 * numbers) at about 2 KB, 20 KB and 200 KB, cut into 4-character fragments, side by side in one run:
 * one `JSON.parse` of the whole text (the floor), our incremental `PartialJsonParser` reading every
 * fragment and taking a snapshot whenever the value changed, and the `toolInputs()` operator over the
 * same fragments as `tool-call` events. Each figure is the mean of several repetitions after a warm-up.
 */
import { from } from 'rxjs';
import type { TokenEvent } from '../src/events.js';
import { PartialJsonParser } from '../src/internal/partial-json.js';
import { toolInputs } from '../src/operators/toolInputs.js';

function records(bytes: number): string {
  const items: unknown[] = [];
  for (let i = 0; JSON.stringify({ items }, null, 2).length < bytes - 400; i++) {
    items.push({ id: i, name: `item ${i}`, price: 12.5 + i, tags: ['a', 'b\u00e9', `t${i}`], ok: i % 2 === 0, note: null, text: 'Lorem ipsum dolor sit amet, "quoted" \\ text\n' });
  }
  return JSON.stringify({ items }, null, 2);
}

const longString = (bytes: number): string => JSON.stringify({ path: 'src/a.ts', content: `${'x'.repeat(bytes - 40)}\n` });

function flatNumbers(bytes: number): string {
  const numbers: number[] = [];
  for (let length = 2; length < bytes; length += String(numbers.length * 7).length + 1) numbers.push(numbers.length * 7);
  return JSON.stringify(numbers);
}

function fragments(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Mean milliseconds of `fn` over `reps` runs, after one warm-up run. */
function time(fn: () => void, reps: number): number {
  fn();
  const start = performance.now();
  for (let r = 0; r < reps; r++) fn();
  return (performance.now() - start) / reps;
}

console.log('| shape | chars | fragments | JSON.parse once (µs) | parser (ms) | µs / fragment | toolInputs() (ms) | emissions |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [shape, make] of [['records', records], ['one long string', longString], ['flat number array', flatNumbers]] as const) {
  for (const size of [2_000, 20_000, 200_000]) {
    const text = make(size);
    const parts = fragments(text);
    const reps = size >= 200_000 ? 3 : size >= 20_000 ? 10 : 50;
    const parse = time(() => JSON.parse(text), reps * 10);
    const parser = time(() => {
      const p = new PartialJsonParser();
      for (const part of parts) if (p.push(part)) void p.value;
      p.finish();
    }, reps);
    const events: TokenEvent[] = [
      { type: 'start', provider: 'bench', model: 'm', t: 0 },
      ...parts.map((argsDelta, i): TokenEvent => (i === 0 ? { type: 'tool-call', index: 0, id: 'call_1', name: 'f', argsDelta, t: 0 } : { type: 'tool-call', index: 0, argsDelta, t: 0 })),
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, estimated: false }, t: 0 },
      { type: 'done', stopReason: 'tool_use', t: 0 },
    ];
    let emissions = 0;
    const operator = time(() => {
      emissions = 0;
      from(events).pipe(toolInputs()).subscribe(() => emissions++);
    }, reps);
    console.log(
      `| ${shape} | ${text.length} | ${parts.length} | ${(parse * 1000).toFixed(1)} | ${parser.toFixed(2)} | ${((parser * 1000) / parts.length).toFixed(2)} | ${operator.toFixed(2)} | ${emissions} |`,
    );
  }
}
