/**
 * Turns an anchors run into bench/RESULTS.md (versions, machine, date, tables, targets) and
 * bench/cpu-per-token.svg (a horizontal bar chart drawn here, no dependency).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { NewerNode } from '../child.js';
import { median, ratioInterval, verdict } from '../stats.js';
import { aiSdkVersions, baseOf, NEWER_NODE, newerNodeNote, nodeLine, onNewerNode } from './ai-sdk.js';
import type { AnchorsOptions } from './index.js';
import type { Flavor } from './libraries.js';

/** One child's JSON line, tagged by the parent. */
export interface RunResult {
  library: string;
  measure: string;
  flavor: Flavor;
  round?: number;
  /** The version of the Node it ran on (`process.version`); absent when it did not run. */
  node?: string;
  error?: string;
  [figure: string]: unknown;
}

export interface AnchorsRun {
  startedAt: string;
  durationS: number;
  options: AnchorsOptions;
  results: RunResult[];
  /** Attempts to reach anything but loopback, as net-guard.mjs recorded them. */
  network: Array<{ kind: string; host: string; who: string }>;
  /** `os.loadavg()` when the run ended (the machine is shared). */
  loadAverage?: number[];
  /** The Node running the bench (every row but those below). */
  node?: string;
  /** The Node the AI SDK 7 rows (and the copies marked {@link NEWER_NODE}) ran on, or why there was none. */
  newerNode?: NewerNode;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// bench/'s own packages (bench/package.json) shadow the root's, as Node resolves them from bench/.
const installed = (path: string) => (existsSync(here(`../node_modules/${path}`)) ? here(`../node_modules/${path}`) : here(`../../node_modules/${path}`));
const TOKENFLOW = ['tokenflow-events', 'tokenflow-collect', 'tokenflow-progress', 'tokenflow-callbacks-sync', 'tokenflow-callbacks-async', `tokenflow-events${NEWER_NODE}`];
const OTHERS = ['sdk', 'ai-sdk', 'ai-sdk-7', 'langchain'];
const SDK: Record<Flavor, string> = { openai: 'openai', anthropic: '@anthropic-ai/sdk', groq: 'groq-sdk' };

function label(row: string, flavor: Flavor): string {
  switch (baseOf(row)) {
    case 'bytes': return 'bytes only (no parsing)';
    case 'floor': return 'floor: fetch + eventsource-parser + JSON.parse';
    case 'floor-again': return "floor again: the floor's code in its own processes (the suite's noise)";
    case 'floor-async': return 'floor + an async handler awaited per token';
    case 'sdk': return `\`${SDK[flavor]}\` for-await`;
    case 'tokenflow-events': return 'tokenflow `stream()` events';
    case 'tokenflow-collect': return 'tokenflow `stream().pipe(collect())`';
    case 'tokenflow-progress': return 'tokenflow `progress()`';
    case 'tokenflow-callbacks-sync': return 'tokenflow `streamWithCallbacks` (sync)';
    case 'tokenflow-callbacks-async': return 'tokenflow `streamWithCallbacks` (async)';
    case 'ai-sdk': return flavor === 'openai' ? 'AI SDK 6 `streamText` (`openai.chat()`)' : 'AI SDK 6 `streamText`';
    case 'ai-sdk-7': return flavor === 'openai' ? 'AI SDK 7 `streamText` (`openai.chat()`)' : 'AI SDK 7 `streamText`';
    case 'langchain': return flavor === 'openai' ? 'LangChain `ChatOpenAI.stream()`' : 'LangChain `ChatAnthropic.stream()`';
    case 'fetch': return 'fetch (floor)';
    case 'tokenflow': return 'tokenflow';
    default: return baseOf(row);
  }
}
const plain = (text: string) => text.replaceAll('`', '');

/**
 * The run the cost targets started from (before.json: the CPU and memory tables of bench/RESULTS.md
 * as of the commit it names), shown beside this run's figures.
 */
interface Before {
  source: string;
  commit: string;
  date: string;
  rows: Partial<Record<Flavor, Record<string, { cpuUsPerToken: number; ratio: number; peakRssMiB?: number }>>>;
}
const BEFORE = JSON.parse(readFileSync(here('./before.json'), 'utf8')) as Before;

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function versions(): Array<[string, string]> {
  const names = ['eventsource-parser', 'rxjs', 'openai', '@anthropic-ai/sdk', 'groq-sdk', '@langchain/core', '@langchain/openai', '@langchain/anthropic'];
  const version = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  const rows: Array<[string, string]> = [['tokenflow', `${version(here('../../package.json'))} (${gitDescribe()})`]];
  for (const name of names) rows.push([name, version(installed(`${name}/package.json`))]);
  rows.push(...aiSdkVersions());
  // @langchain/anthropic brings its own, older Anthropic SDK.
  try {
    rows.push(['@anthropic-ai/sdk (under @langchain/anthropic)', version(installed('@langchain/anthropic/node_modules/@anthropic-ai/sdk/package.json'))]);
  } catch {
    // Deduplicated: the top-level one.
  }
  return rows;
}

function gitDescribe(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return dirty ? `${commit}, with uncommitted changes in src/` : commit;
  } catch {
    return 'unknown commit';
  }
}

/**
 * Writes the report: bench/RESULTS.md and bench/cpu-per-token.svg for a whole run, or only
 * bench/out/anchors-partial.md when some measures were left out (`--anchors-measures`).
 */
export function writeReport(run: AnchorsRun, whole = true): string {
  const ok = run.results.filter((r) => !r.error);
  const of = (measure: string, flavor: Flavor, library: string) => ok.filter((r) => r.measure === measure && r.flavor === flavor && r.library === library);
  const attempts = (measure: string, flavor: Flavor, library: string) => run.results.filter((r) => r.measure === measure && r.flavor === flavor && r.library === library).length;
  const values = (measure: string, flavor: Flavor, library: string, field: string) =>
    of(measure, flavor, library).map((r) => r[field]).filter((v): v is number => typeof v === 'number');
  const med = (measure: string, flavor: Flavor, library: string, field: string) => median(values(measure, flavor, library, field));
  const span = ([low, high]: [number, number]) => `${fmt(low, 2)}-${fmt(high, 2)}`;
  const readersOf = (measure: string, flavor: Flavor) => [...new Set(run.results.filter((r) => r.measure === measure && r.flavor === flavor).map((r) => r.library))];
  // Each row beside its kind: the floor on the newer Node after the floor, AI SDK 7 after AI SDK 6.
  const order = ['bytes', 'floor', `floor${NEWER_NODE}`, 'floor-again', `floor-again${NEWER_NODE}`, 'floor-async', 'sdk', ...TOKENFLOW, 'ai-sdk', 'ai-sdk-7', 'langchain', 'fetch', 'tokenflow'];
  const sorted = (readers: string[]) => [...readers].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const flavors = run.options.flavors;
  const misses: string[] = [];

  // The Node each row ran on: ratios, differences and "below every other library" compare only rows
  // of one Node (the AI SDK 7 rows may run on a newer one than the rest).
  const nodeOf = (measure: string, flavor: Flavor, row: string) =>
    run.results.find((r) => r.measure === measure && r.flavor === flavor && r.library === row && r.node !== undefined)?.node;
  const nodeCell = (measure: string, flavor: Flavor, row: string) => nodeOf(measure, flavor, row)?.replace(/^v/, '') ?? 'not run';
  const floorOf = (measure: string, flavor: Flavor, row: string) => {
    const node = nodeOf(measure, flavor, row);
    return ['floor', `floor${NEWER_NODE}`].find((floor) => nodeOf(measure, flavor, floor) === node) ?? 'floor';
  };
  const othersBeside = (measure: string, flavor: Flavor, readers: string[], row: string) =>
    readers.filter((r) => OTHERS.includes(r) && nodeOf(measure, flavor, r) === nodeOf(measure, flavor, row));
  const onMainNode = (measure: string, flavor: Flavor, row: string) => nodeOf(measure, flavor, row) === run.node || (run.node === undefined && !onNewerNode(row));
  /** A row's figure in the run the cost targets started from (before.json), which ran on the main Node only. */
  const beforeCell = (flavor: Flavor, row: string, field: 'ratio' | 'peakRssMiB', digits: number) =>
    onMainNode('read', flavor, row) ? fmt(BEFORE.rows[flavor]?.[row]?.[field] ?? Number.NaN, digits) : 'n/a';
  const newerLabel = (measure: string, flavor: Flavor, row: string) => {
    const node = nodeOf(measure, flavor, row);
    return node !== undefined && node !== run.node ? ` (Node ${node.replace(/^v/, '').split('.')[0]})` : '';
  };

  // CPU per token, against the floor's processes and its second copy's pooled (the same code on the
  // same Node: twice the sample for the reference every ratio divides by).
  const pooledFloor = (flavor: Flavor, row: string): number[] => {
    const floor = floorOf('read', flavor, row);
    const copy = ['floor-again', `floor-again${NEWER_NODE}`].find((again) => values('read', flavor, again, 'cpuUsPerToken').length > 0 && nodeOf('read', flavor, again) === nodeOf('read', flavor, floor));
    const again = copy === undefined ? [] : values('read', flavor, copy, 'cpuUsPerToken');
    return [...values('read', flavor, floor, 'cpuUsPerToken'), ...again];
  };
  /** The bootstrap interval of a row's CPU per token over the pooled floor's (bench/stats.ts). */
  const cpuInterval = (flavor: Flavor, reader: string) => ratioInterval(values('read', flavor, reader, 'cpuUsPerToken'), pooledFloor(flavor, reader));
  const cpuRows: string[] = [];
  /** Issue 18's per-token target (1.15x), before and after. */
  const costRows: string[] = [];
  const asyncRows: string[] = [];
  const chart: Array<{ flavor: Flavor; reader: string; label: string; value: number; ratio: number }> = [];
  for (const flavor of flavors) {
    const readers = sorted(readersOf('read', flavor));
    for (const reader of readers) {
      const cpu = med('read', flavor, reader, 'cpuUsPerToken');
      const floor = median(pooledFloor(flavor, reader));
      chart.push({ flavor, reader, label: `${plain(label(reader, flavor))}${newerLabel('read', flavor, reader)}`, value: cpu, ratio: cpu / floor });
      const interval = span(cpuInterval(flavor, reader));
      cpuRows.push(`| ${flavor} | ${label(reader, flavor)} | ${nodeCell('read', flavor, reader)} | ${fmt(cpu, 2)} | ${fmt(cpu / floor, 2)} | ${interval} | ${beforeCell(flavor, reader, 'ratio', 2)} | ${fmt(med('read', flavor, reader, 'wallMs'), 0)} | ${of('read', flavor, reader).length}/${attempts('read', flavor, reader)} |`);
    }
    for (const reader of readers.filter((r) => TOKENFLOW.includes(r))) {
      const cpu = med('read', flavor, reader, 'cpuUsPerToken');
      const floor = median(pooledFloor(flavor, reader));
      const cheapestOther = Math.min(...othersBeside('read', flavor, readers, reader).map((r) => med('read', flavor, r, 'cpuUsPerToken')));
      const name = `${plain(label(reader, flavor))}${newerLabel('read', flavor, reader)}`;
      const interval = cpuInterval(flavor, reader);
      const ratio = cpu / floor;
      costRows.push(`| ${flavor} | ${label(reader, flavor)}${newerLabel('read', flavor, reader)} | ${beforeCell(flavor, reader, 'ratio', 2)} | ${fmt(ratio, 2)} | ${span(interval)} | ${verdict(ratio, interval, 1.15)} |`);
      const target = ratio <= 1.3 ? 1.15 : 1.3;
      if (!(ratio <= target)) {
        misses.push(`CPU/token, ${flavor}: ${name} is ${fmt(ratio, 2)}x the floor (${fmt(cpu, 2)} vs ${fmt(floor, 2)} µs; 90% interval ${span(interval)}: ${verdict(ratio, interval, target)}; ${target === 1.3 ? 'target 1.3x' : 'the closer target 1.15x'}).`);
      }
      // The async handler's own promise per token, apart: the same handler on the floor.
      const floorAsync = med('read', flavor, 'floor-async', 'cpuUsPerToken');
      if (baseOf(reader) === 'tokenflow-callbacks-async' && Number.isFinite(floorAsync) && nodeOf('read', flavor, 'floor-async') === nodeOf('read', flavor, reader)) {
        asyncRows.push(`| ${flavor} | ${fmt(floor, 2)} | ${fmt(floorAsync, 2)} | ${fmt(cpu, 2)} | ${fmt(cpu / floor, 2)} | ${fmt(cpu / floorAsync, 2)} |`);
      }
      if (!(cpu < cheapestOther)) misses.push(`CPU/token, ${flavor}: ${name} (${fmt(cpu, 2)} µs) is not below every other library (cheapest: ${fmt(cheapestOther, 2)} µs).`);
    }
  }

  // Time to first token.
  const ttftRows: string[] = [];
  for (const flavor of flavors) {
    const readers = sorted(readersOf('ttft', flavor));
    for (const reader of readers) {
      const ttft = med('ttft', flavor, reader, 'ttftMs');
      const floor = med('ttft', flavor, floorOf('ttft', flavor, reader), 'ttftMs');
      const added = baseOf(reader) === 'floor' ? '0' : `${ttft - floor >= 0 ? '+' : ''}${fmt(ttft - floor, 2)}`;
      ttftRows.push(`| ${flavor} | ${label(reader, flavor)} | ${nodeCell('ttft', flavor, reader)} | ${fmt(ttft, 2)} | ${added} |`);
    }
    for (const reader of readers.filter((r) => TOKENFLOW.includes(r))) {
      const ttft = med('ttft', flavor, reader, 'ttftMs');
      const floor = med('ttft', flavor, floorOf('ttft', flavor, reader), 'ttftMs');
      const cheapestOther = Math.min(...othersBeside('ttft', flavor, readers, reader).map((r) => med('ttft', flavor, r, 'ttftMs')));
      if (!(ttft < cheapestOther)) misses.push(`TTFT, ${flavor}: ${plain(label(reader, flavor))}${newerLabel('ttft', flavor, reader)} ${fmt(ttft, 2)} ms is not below every other library (fastest: ${fmt(cheapestOther, 2)} ms; floor ${fmt(floor, 2)} ms).`);
    }
  }

  // Memory of one 10,000-token read.
  const memoryRows: string[] = [];
  for (const flavor of flavors) {
    const readers = sorted(readersOf('read', flavor));
    for (const reader of readers) {
      const after = med('read', flavor, reader, 'rssAfterImportsMiB');
      const peak = med('read', flavor, reader, 'peakRssMiB');
      memoryRows.push(`| ${flavor} | ${label(reader, flavor)} | ${nodeCell('read', flavor, reader)} | ${fmt(after)} | ${fmt(peak)} | ${fmt(peak - after)} | ${beforeCell(flavor, reader, 'peakRssMiB', 1)} |`);
    }
    for (const reader of readers.filter((r) => TOKENFLOW.includes(r))) {
      const peak = med('read', flavor, reader, 'peakRssMiB');
      const lowestOther = Math.min(...othersBeside('read', flavor, readers, reader).map((r) => med('read', flavor, r, 'peakRssMiB')));
      if (!(peak < lowestOther)) misses.push(`Peak RSS, ${flavor}: ${plain(label(reader, flavor))}${newerLabel('read', flavor, reader)} ${fmt(peak)} MiB is not below every other library (lowest: ${fmt(lowestOther)} MiB).`);
    }
  }

  // 200 concurrent streams.
  const concurrentRows: string[] = [];
  for (const flavor of flavors) {
    const readers = sorted(readersOf('concurrent', flavor));
    for (const reader of readers) {
      const cpu = med('concurrent', flavor, reader, 'cpuMs');
      const floor = med('concurrent', flavor, floorOf('concurrent', flavor, reader), 'cpuMs');
      concurrentRows.push(
        `| ${flavor} | ${label(reader, flavor)} | ${nodeCell('concurrent', flavor, reader)} | ${fmt(cpu, 0)} | ${fmt(cpu / floor, 2)} | ${fmt(med('concurrent', flavor, reader, 'wallMs'), 0)} | ${fmt(med('concurrent', flavor, reader, 'peakRssMiB'))} | ${fmt(med('concurrent', flavor, reader, 'ttftP50Ms'), 0)} | ${of('concurrent', flavor, reader).length}/${attempts('concurrent', flavor, reader)} |`,
      );
    }
    for (const [field, what, unit] of [['cpuMs', 'total CPU', 'ms'], ['peakRssMiB', 'peak RSS', 'MiB'], ['ttftP50Ms', 'TTFT p50', 'ms']] as const) {
      for (const reader of readers.filter((r) => TOKENFLOW.includes(r))) {
        const best = Math.min(...othersBeside('concurrent', flavor, readers, reader).map((r) => med('concurrent', flavor, r, field)));
        const value = med('concurrent', flavor, reader, field);
        if (Number.isFinite(value) && !(value < best)) misses.push(`${run.options.concurrency} concurrent, ${flavor}: ${plain(label(reader, flavor))}${newerLabel('concurrent', flavor, reader)} ${what} ${fmt(value, 0)} ${unit} is not below every other library (best: ${fmt(best, 0)} ${unit}).`);
      }
    }
  }

  // Cold import.
  const importRows: string[] = [];
  const imports = [...new Set(run.results.filter((r) => r.measure === 'import').map((r) => r.library))];
  for (const set of imports) {
    const importMs = med('import', 'openai', set, 'importMs');
    const rss = med('import', 'openai', set, 'rssAfterMiB') - med('import', 'openai', set, 'rssBeforeMiB');
    importRows.push(`| ${baseOf(set)} | ${nodeCell('import', 'openai', set)} | ${fmt(importMs, 0)} | ${fmt(rss)} | ${of('import', 'openai', set).length}/${attempts('import', 'openai', set)} |`);
  }

  // Cancellation.
  const cancelRows: string[] = [];
  for (const flavor of flavors) {
    for (const family of sorted(readersOf('cancel', flavor))) {
      const runs = of('cancel', flavor, family);
      const name = family === 'sdk' ? `\`${SDK[flavor]}\`` : label(family, flavor);
      const node = nodeCell('cancel', flavor, family);
      // A family that never ran (AI SDK 7 without a Node >= 22) keeps its row.
      if (runs.length === 0) cancelRows.push(`| ${flavor} | ${name} | ${node} | — | **not run** (0/${attempts('cancel', flavor, family)}) | — | — |`);
      const ways = [...new Set(runs.flatMap((r) => Object.keys((r.ways as object) ?? {})))];
      for (const way of ways) {
        const outcomes = runs.map((r) => (r.ways as Record<string, { closedByClient: boolean; latencyMs: number | null; tokensWritten: number }>)[way]!).filter(Boolean);
        const closed = outcomes.filter((o) => o.closedByClient);
        const latency = median(closed.map((o) => Math.max(0, o.latencyMs ?? Number.NaN)));
        const verdict = closed.length === outcomes.length ? 'yes' : closed.length === 0 ? '**no**' : `**${closed.length}/${outcomes.length}**`;
        cancelRows.push(`| ${flavor} | ${name} | ${node} | ${way} | ${verdict} (${closed.length}/${outcomes.length}) | ${closed.length ? fmt(latency, 1) : '—'} | ${fmt(median(outcomes.map((o) => o.tokensWritten)), 0)} |`);
        if (family === 'tokenflow' && closed.length !== outcomes.length) misses.push(`Cancellation, ${flavor}: tokenflow ${way} closed the connection in ${closed.length}/${outcomes.length} runs.`);
      }
    }
  }

  const failures = run.results.filter((r) => r.error);
  const cpu = os.cpus();
  const { rounds, tokens, concurrency, concurrentTokens } = run.options;
  const md = `# Benchmarks against the alternatives

Generated by \`npm run bench -- --suite anchors\` (bench/anchors/) on ${run.startedAt.slice(0, 10)}; the run took ${fmt(run.durationS / 60, 1)} minutes.
Every library × measure ran in a fresh Node process, ${rounds} time${rounds === 1 ? '' : 's'} (cancellation ${Math.min(3, rounds)}), the
libraries alternating in an order shuffled every round (the same orders in every run), against mock servers (\`tokenflow/testing\`;
zero delay except for cancellation${run.options.obfuscation ? "; the OpenAI mock padded every chunk with `obfuscation`, as the real API does by default" : ''}) in their own process; figures are medians. Ratios are against the **floor**:
\`fetch\` + \`eventsource-parser\` + one \`JSON.parse\` per event, the least a correct client does.
Every reader's text was checked against the expected answer in every run; every client ran with
retries off (\`maxRetries: 0\`). The OpenAI rows use Chat Completions throughout: for the AI SDK that is
\`createOpenAI({ baseURL }).chat(model)\` (\`@ai-sdk/openai\`'s default \`openai(model)\` calls the
Responses API). The Groq rows (the \`groq-sdk\` wire path) have no AI SDK or LangChain row: their Groq
packages are not installed.

The AI SDK has a row for each of its majors 6 and 7, side by side; they are installed together under npm
aliases (bench/package.json). ${newerNodeNote(run.node, run.newerNode, 'a second floor row, its second copy and a second tokenflow `stream()` row (and tokenflow\'s two cold-import sets)')}

![CPU per token, per library](cpu-per-token.svg)

## Machine and versions

- ${os.type()} ${os.release()} ${os.arch()}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, shared with other jobs (load average at the end of the run: ${(run.loadAverage ?? os.loadavg()).map((l) => l.toFixed(2)).join(', ')})
- ${nodeLine(run.node, run.newerNode)}

| package | version |
| --- | --- |
${versions().map(([name, version]) => `| ${name} | ${version} |`).join('\n')}

## CPU per token, ${tokens.toLocaleString('en-US')}-token answer

\`process.cpuUsage()\` (user + system, all threads: GC and background compilation included) around
one answer read to the end, the median of ${run.options.reads ?? 5} reads after three warm-up answers in the same process,
then the median over processes; wall time of the same reads. "Floor again" runs the floor's very code
as a row of its own, so its distance from the floor is this run's noise between processes; and since
it is the same code, "× floor" divides by the median of both rows' processes together (twice the
sample; on a Node where only the floor ran, the floor's alone). "90% interval" is a bootstrap of that
ratio, the row's and the reference's processes resampled (bench/stats.ts): the ratios this run's
processes are consistent with.

"Before × floor" is the same row in the run the cost targets started from (${BEFORE.date}, commit
${BEFORE.commit}: five reads per process, the floor alone as the reference; its microseconds are not
comparable with this run's, since the floor itself costs more per token on this host now; only its ratios are).

| format | reader | Node | CPU µs/token | × floor | 90% interval | before × floor | wall ms | runs ok |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${cpuRows.join('\n')}

**Per token, at most 1.15x the floor for every way of reading** (the closer target): before, this
run, and what this run's interval says.

| format | tokenflow reader | before | × floor | 90% interval | against 1.15x |
| --- | --- | ---: | ---: | ---: | --- |
${costRows.join('\n')}
${asyncRows.length ? `
An async \`onToken\` handler returns a promise per token, and a correct client awaits each before the
next: that promise and its microtask are the handler's, whoever calls it. The floor with the same
handler awaited per token (\`floor-async\`) prices them; tokenflow's async row against both:

| format | floor µs | floor-async µs | tokenflow async µs | × floor | × floor-async |
| --- | ---: | ---: | ---: | ---: | ---: |
${asyncRows.join('\n')}
` : ''}
## Time to first token (zero-delay server)

From calling the library to the first text delta reaching the caller, a 50-token answer, median of
40 sequential requests per process after 10 warm-ups, then the median over processes; "added" is
the difference from the floor.
\`collect()\` emits once, at the end, so it has no row (its stream is the \`stream()\` row).

| format | reader | Node | TTFT ms | added ms |
| --- | --- | --- | ---: | ---: |
${ttftRows.join('\n')}

## Memory of one ${tokens.toLocaleString('en-US')}-token read

RSS after the library's imports (before any request; the bench code runs under \`tsx\`, tokenflow is
loaded from its build like every other library), and the process's peak RSS
(\`process.resourceUsage().maxRSS\`, over the three warm-up and ${run.options.reads ?? 5} measured answers, all the same size);
"before" is the peak in the run the cost targets started from (${BEFORE.date}, five measured answers).

| format | reader | Node | RSS after imports MiB | peak RSS MiB | peak − imports MiB | before: peak RSS MiB |
| --- | --- | --- | ---: | ---: | ---: | ---: |
${memoryRows.join('\n')}

## ${concurrency} concurrent streams

${concurrency} answers of ${concurrentTokens} tokens started at once in one process (after one warm-up answer): total
CPU (user + system), wall time until all ended, peak RSS, and the median time from each call to its
first text delta (the mock server shares the 2 cores, so this is mostly queueing).

| format | reader | Node | total CPU ms | × floor | wall ms | peak RSS MiB | TTFT p50 ms | runs ok |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${concurrentRows.join('\n')}

## Cold import

A fresh plain \`node\` process (no \`tsx\`) that only \`await import()\`s the entry points; tokenflow from its
build (\`dist/\`, through the package's \`exports\`), which also loads the SDK it drives and \`rxjs\`.

| entry points | Node | import ms | RSS added MiB | runs ok |
| --- | --- | ---: | ---: | ---: |
${importRows.join('\n')}

## Cancellation reaches the server

A slow answer (100 tokens/s, 2,000 tokens) cancelled the library's way after 3 text deltas; "closed"
means the mock saw the client close the response (\`closedByClient\`) within 2 s. Latency: from the
cancel call (\`break\`, \`abort()\`, \`unsubscribe()\`) to the close at the server (clocks of two
processes, about ±1 ms), after one unmeasured cancel of every way in the same process (the first
abort in a fresh process costs another 10-20 ms of lazy setup, whichever library makes it); tokens
written: by the server before the close (or in the 2 s).

| format | library | Node | way | closed | latency ms | tokens written |
| --- | --- | --- | --- | --- | ---: | ---: |
${cancelRows.join('\n')}

## Targets

tokenflow within 1.3x of the floor and below every other library (raw SDK, AI SDK 6 and 7, LangChain)
run on the same Node, in CPU per token, time to first token and memory; cancelling always closes the
connection. The closer per-token target: every tokenflow way of reading within 1.15x of the floor.

${misses.length ? misses.map((m) => `- Missed: ${m}`).join('\n') : '- All met in this run.'}

Two bounds hold whatever the run: tokenflow opens each request through the SDK it wraps (then reads
the raw body itself), so the SDK's request path is part of tokenflow's time to first token; and it
loads that SDK plus \`rxjs\` and its own code, so its RSS after imports starts above the SDK's.
Against the raw SDK it can only win on the work per event.

## Network

Every child process loaded \`bench/anchors/net-guard.mjs\` (hooks on \`dns.lookup\`, \`dns.promises.lookup\`,
\`dns.resolve*\`, \`net.Socket.prototype.connect\`, and the \`undici:request:create\` diagnostics channel),
which records and refuses anything but 127.0.0.1; \`LANGCHAIN_TRACING_V2\` and \`LANGSMITH_TRACING\` were
\`false\` and every \`LANGCHAIN_*\`, \`LANGSMITH_*\`, \`OPENAI_*\`, \`ANTHROPIC_*\`, \`GROQ_*\`, \`OTEL_*\` variable unset.
${run.network.length === 0 ? '\nNo library tried to reach anything but loopback.' : `\nAttempts recorded (and refused):\n\n${[...new Set(run.network.map((n) => `- ${n.kind} ${n.host} (${n.who})`))].join('\n')}`}
${failures.length ? `\n## Failed runs\n\n${failures.map((f) => `- ${f.library} ${f.measure} ${f.flavor}: ${String(f.error).split('\n')[0]}`).join('\n')}\n` : ''}`;
  if (whole) {
    writeFileSync(here('../RESULTS.md'), md);
    writeFileSync(here('../cpu-per-token.svg'), renderChart(chart, tokens));
  } else {
    writeFileSync(here('../out/anchors-partial.md'), `<!-- Measures: ${[...new Set(run.results.map((r) => r.measure))].join(', ')} only (--anchors-measures). -->\n${md}`);
  }
  return md.slice(md.indexOf('## CPU per token'), md.indexOf('## Network'));
}

/**
 * A horizontal bar chart: one group per wire format, one bar per reader (its label names a Node other
 * than the bench's), the bench's Node's floor as a dashed line.
 */
function renderChart(rows: Array<{ flavor: Flavor; reader: string; label: string; value: number; ratio: number }>, tokens: number): string {
  // About 6.5 px per character of 12 px system-ui, so that the longest label (a copy's, with its Node) fits.
  const labelWidth = Math.max(330, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * 6.5) + 20);
  const barWidth = 470;
  const rowHeight = 20;
  const groupGap = 30;
  const top = 50;
  const max = Math.max(...rows.map((r) => r.value).filter(Number.isFinite));
  const scale = barWidth / max;
  const color = (row: string) => {
    const reader = baseOf(row);
    return reader === 'floor' || reader === 'floor-again' || reader === 'floor-async' || reader === 'bytes' ? '#8c8c8c' : reader.startsWith('tokenflow') ? '#2a9d5c' : reader === 'sdk' ? '#3b6fb6' : reader.startsWith('ai-sdk') ? '#d9822b' : '#8a5cc2';
  };
  const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const parts: string[] = [];
  let y = top;
  for (const flavor of [...new Set(rows.map((r) => r.flavor))]) {
    const group = rows.filter((r) => r.flavor === flavor);
    parts.push(`<text x="10" y="${y + 4}" font-weight="bold">${flavor} wire format</text>`);
    y += 12;
    const groupTop = y;
    for (const row of group) {
      const width = Number.isFinite(row.value) ? Math.max(1, row.value * scale) : 0;
      parts.push(`<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${escape(row.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${color(row.reader)}"/>`);
      parts.push(`<text x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 14}">${fmt(row.value, 2)} µs (${fmt(row.ratio, 2)}×)</text>`);
      y += rowHeight;
    }
    const floor = group.find((r) => r.reader === 'floor');
    if (floor && Number.isFinite(floor.value)) {
      const x = (labelWidth + floor.value * scale).toFixed(1);
      parts.push(`<line x1="${x}" y1="${groupTop}" x2="${x}" y2="${y}" stroke="#444" stroke-dasharray="4 3"/>`);
    }
    y += groupGap;
  }
  const width = labelWidth + barWidth + 130;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="bold">CPU µs per token, ${tokens.toLocaleString('en-US')}-token answer (median; × the floor on the same Node; dashed line: the floor)</text>
${parts.join('\n')}
</svg>
`;
}
