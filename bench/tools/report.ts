/**
 * Turns a tools-suite run into bench/tools/RESULTS.md: method, machine, versions, the table, and the
 * two targets of issue 15 (tokenflow within 1.3x of the floor per token; its tool dispatch under
 * 0.5 ms per step more than the raw SDK loop's).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { aiSdkVersions, baseOf, NEWER_NODE, newerNodeNote, nodeLine } from '../anchors/ai-sdk.js';
import type { NewerNode } from '../child.js';
import { median, ratioInterval, verdict } from '../stats.js';
import type { Flavor } from './contenders.js';
import type { ToolsOptions } from './index.js';
import { deltasPerLoop, sumArguments, upperArguments, WARMING_LOOPS } from './script.js';

/** One child's JSON line, tagged by the parent. */
export interface ToolsResult {
  /** The row: a contender (contenders.ts), or one repeated on the newer Node (`floor:newer-node`). */
  contender: string;
  flavor: Flavor;
  round: number;
  /** The version of the Node it ran on; absent when it did not run. */
  node?: string;
  error?: string;
  cpuUsPerToken?: number;
  /** The median of the first warm-up loops (script.ts `WARMING_LOOPS`): before the code is optimised. */
  warmingCpuUsPerToken?: number;
  wallMs?: number;
  dispatchMs?: number;
  dispatchAfterStep0Ms?: number;
  dispatchAfterStep1Ms?: number;
}

export interface ToolsRun {
  startedAt: string;
  durationS: number;
  options: ToolsOptions;
  results: ToolsResult[];
  /** Attempts to reach anything but loopback (net-guard.mjs's JSON lines). */
  network: string[];
  /** `os.loadavg()` before the run and at its end (the machine is shared). */
  loadAtStart: number[];
  loadAtEnd: number[];
  /** The Node running the bench (every row but those below). */
  node?: string;
  /** The Node the AI SDK 7 rows (and the copies marked `:newer-node`) ran on, or why there was none. */
  newerNode?: NewerNode;
}

/** Most the Agent's tool dispatch may add per step over the raw SDK loop (issue 15). */
const DISPATCH_TARGET_MS = 0.5;
/** Most tokenflow's CPU per token may be, against the floor's (issue 15). */
const RATIO_TARGET = 1.3;

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// bench/'s own packages (bench/package.json) shadow the root's, as Node resolves them from bench/.
const installed = (path: string) => (existsSync(here(`../node_modules/${path}`)) ? here(`../node_modules/${path}`) : here(`../../node_modules/${path}`));
const SDK: Record<Flavor, string> = { openai: 'openai', anthropic: '@anthropic-ai/sdk' };
// Each row beside its kind: a copy on the newer Node after its row, AI SDK 7 after AI SDK 6.
const ORDER = ['floor', `floor${NEWER_NODE}`, 'floor-again', 'sdk-floor', 'sdk', `sdk${NEWER_NODE}`, 'tokenflow-events', `tokenflow-events${NEWER_NODE}`, 'tokenflow-collect', 'ai-sdk', 'ai-sdk-7'];

function label(row: string, flavor: Flavor): string {
  switch (baseOf(row)) {
    case 'floor': return 'floor: fetch + eventsource-parser + JSON.parse, loop by hand';
    case 'floor-again': return "floor again: the floor's code in its own processes (the suite's noise)";
    case 'sdk-floor': return `SDK floor: the floor, each request opened by ${flavor === 'openai' ? '`openai`' : '`@anthropic-ai/sdk`'} (\`create(…).asResponse()\`)`;
    case 'sdk': return flavor === 'openai' ? '`openai` `chat.completions.create({ stream: true })`, loop by hand' : '`@anthropic-ai/sdk` `messages.create({ stream: true })`, loop by hand';
    case 'tokenflow-events': return 'tokenflow `agent.stream(message, { tools })` events';
    case 'tokenflow-collect': return 'tokenflow `agent.stream(…).pipe(collect())`';
    case 'ai-sdk': return `AI SDK 6 \`streamText\` (\`stopWhen: stepCountIs(3)\`${flavor === 'openai' ? ', `openai.chat()`' : ''})`;
    case 'ai-sdk-7': return `AI SDK 7 \`streamText\` (\`stopWhen: stepCountIs(3)\`${flavor === 'openai' ? ', `openai.chat()`' : ''})`;
    default: return row;
  }
}

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value: number, digits = 3) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : 'n/a');

function versions(): Array<[string, string]> {
  const version = (path: string) => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim()) commit += ', with uncommitted changes in src/';
  } catch {
    // Not a checkout.
  }
  const names = ['eventsource-parser', 'rxjs', 'openai', '@anthropic-ai/sdk'];
  return [['tokenflow', `${version(here('../../package.json'))} (${commit})`], ...names.map((n): [string, string] => [n, version(installed(`${n}/package.json`))]), ...aiSdkVersions()];
}

/** Writes bench/tools/RESULTS.md; returns the tables and targets, for the console. */
export function writeToolsReport(run: ToolsRun): string {
  const { options } = run;
  const ok = run.results.filter((r) => !r.error);
  const of = (flavor: Flavor, row: string) => ok.filter((r) => r.flavor === flavor && r.contender === row);
  const med = (flavor: Flavor, row: string, field: keyof ToolsResult) =>
    median(of(flavor, row).map((r) => r[field]).filter((v): v is number => typeof v === 'number'));
  const attempts = (flavor: Flavor, row: string) => run.results.filter((r) => r.flavor === flavor && r.contender === row).length;
  // The Node each row ran on: "× floor" and "vs SDK" compare rows of one Node only.
  const nodeOf = (flavor: Flavor, row: string) => run.results.find((r) => r.flavor === flavor && r.contender === row && r.node !== undefined)?.node;
  const beside = (flavor: Flavor, row: string, base: string) => [base, `${base}${NEWER_NODE}`].find((r) => attempts(flavor, r) > 0 && nodeOf(flavor, r) === nodeOf(flavor, row));
  const figure = (flavor: Flavor, row: string | undefined, field: keyof ToolsResult) => (row === undefined ? Number.NaN : med(flavor, row, field));
  const cpuOf = (flavor: Flavor, row: string | undefined) =>
    row === undefined ? [] : of(flavor, row).map((r) => r.cpuUsPerToken).filter((v): v is number => typeof v === 'number');
  /**
   * The reference every CPU ratio divides by: the floor's processes on the row's Node, with
   * floor-again's pooled in when it ran on that Node (the same code: twice the sample).
   */
  const floorSample = (flavor: Flavor, row: string) => {
    const floor = beside(flavor, row, 'floor');
    const again = floor !== undefined && attempts(flavor, 'floor-again') > 0 && nodeOf(flavor, 'floor-again') === nodeOf(flavor, floor) ? cpuOf(flavor, 'floor-again') : [];
    return [...cpuOf(flavor, floor), ...again];
  };
  /** The bootstrap interval of a row's CPU ratio to the pooled floor (bench/stats.ts). */
  const cpuInterval = (flavor: Flavor, row: string) => ratioInterval(cpuOf(flavor, row), floorSample(flavor, row));
  const onOtherNode = (flavor: Flavor, row: string) => {
    const node = nodeOf(flavor, row);
    return node !== undefined && node !== run.node ? ` on Node ${node.replace(/^v/, '').split('.')[0]}` : '';
  };

  const rows: string[] = [];
  const targets: string[] = [];
  for (const flavor of options.flavors) {
    const contenders = ORDER.filter((c) => attempts(flavor, c) > 0);
    for (const c of contenders) {
      const cpu = med(flavor, c, 'cpuUsPerToken');
      const floor = median(floorSample(flavor, c));
      const interval = cpuInterval(flavor, c);
      const dispatch = med(flavor, c, 'dispatchMs');
      const sdkDispatch = figure(flavor, beside(flavor, c, 'sdk'), 'dispatchMs');
      const warming = med(flavor, c, 'warmingCpuUsPerToken');
      const warmingFloor = figure(flavor, beside(flavor, c, 'floor'), 'warmingCpuUsPerToken');
      rows.push(
        `| ${flavor} | ${label(c, flavor)} | ${nodeOf(flavor, c)?.replace(/^v/, '') ?? 'not run'} | ${fmt(cpu)} | ${fmt(cpu / floor)} | ${fmt(interval[0])}-${fmt(interval[1])} | ${fmt(warming)} (${fmt(warming / warmingFloor)}) | ${fmt(med(flavor, c, 'wallMs'), 0)} | ${fmt(dispatch, 3)} (${fmt(med(flavor, c, 'dispatchAfterStep0Ms'), 3)} / ${fmt(med(flavor, c, 'dispatchAfterStep1Ms'), 3)}) | ${baseOf(c) === 'sdk' ? '0' : signed(dispatch - sdkDispatch)} | ${of(flavor, c).length}/${attempts(flavor, c)} |`,
      );
    }
    for (const c of contenders.filter((c) => c.startsWith('tokenflow'))) {
      const ratio = med(flavor, c, 'cpuUsPerToken') / median(floorSample(flavor, c));
      const interval = cpuInterval(flavor, c);
      const added = med(flavor, c, 'dispatchMs') - figure(flavor, beside(flavor, c, 'sdk'), 'dispatchMs');
      const name = `${label(c, flavor).replaceAll('`', '')}${onOtherNode(flavor, c)}`;
      // tokenflow's own share: above the floor whose requests go through the same SDK path.
      const sdkFloor = figure(flavor, nodeOf(flavor, c) === nodeOf(flavor, 'sdk-floor') ? 'sdk-floor' : undefined, 'cpuUsPerToken');
      const own = Number.isFinite(sdkFloor) ? ` (${fmt(med(flavor, c, 'cpuUsPerToken') / sdkFloor)}x the SDK floor)` : '';
      targets.push(`- ${flavor}, ${name}: CPU ${fmt(ratio)}x the floor${own} (90% interval ${fmt(interval[0])}-${fmt(interval[1])}; target ≤ ${RATIO_TARGET}x the floor): **${verdict(ratio, interval, RATIO_TARGET)}**; dispatch ${signed(added)} ms per step against the raw SDK loop (target < ${DISPATCH_TARGET_MS} ms): **${added < DISPATCH_TARGET_MS ? 'met' : 'missed'}**.`);
    }
  }

  const failures = run.results.filter((r) => r.error);
  const cpus = os.cpus();
  const { shape } = options;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  const md = `# Tool-loop benchmark

Generated by \`npm run bench -- --suite tools\` (bench/tools/) on ${run.startedAt.slice(0, 10)}; the run took ${fmt(run.durationS / 60, 1)} minutes.

## Method

A three-step tool loop against the mock provider (\`tokenflow/testing\`, zero delay, in its own process):
step 0 answers with a call of \`sum\` (arguments \`{"numbers":[1,…,${shape.argsTokens}]}\` in ${sumArguments(shape).length} fragments), step 1 with a
call of \`upper\` (${shape.argsTokens} words in ${upperArguments(shape).length} fragments), step 2 with a ${shape.textTokens.toLocaleString('en-US')}-token text. The mock picks the
step from the tool results the request sends back and answers a wrong result with a wrong text, so every
contender must run both tools (the same two synchronous functions) and return their output; the final text
is checked against the expected answer in every loop. Every client runs with retries off.

Each contender × wire format runs in a fresh Node process, ${options.rounds} times, in an order shuffled every round (the same orders in every run)
(tokenflow from its build, which the suite remakes when a source is newer; every process loads the anchors suite's
\`net-guard.mjs\`: loopback only).${options.contenders ? ` Only the contenders ${options.contenders.map((c) => `\`${c}\``).join(', ')} ran (\`--tools-contenders\`).` : ''} In each process:

- **CPU per token**: ${options.warmups} unmeasured loops, then ${options.loops} loops each timed with \`process.cpuUsage()\` (user + system, all
  threads) divided by the loop's ${deltasPerLoop(shape).toLocaleString('en-US')} wire deltas (argument fragments and text); the median loop, then
  the median over processes. "× floor" is against the **floor**: \`fetch\` + \`eventsource-parser\` + one
  \`JSON.parse\` per event, tool calls assembled by hand and the follow-up request posted with the results;
  where **floor again** (below) ran on the same Node, against the median of both rows' processes together.
  The ${options.warmups} warm-ups (${(options.warmups * deltasPerLoop(shape)).toLocaleString('en-US')} deltas) are about as many tokens as the anchors suite's three 10,000-token
  warm-up answers. "While warming up" is the median of the first ${WARMING_LOOPS} of them (the first one loads
  the libraries): a fresh process before its code is optimised, against the floor's own first loops.
- **The SDK floor** is the floor with each request opened through the provider's SDK
  (\`create(…).asResponse()\`: its headers, retry wrapper, timeout and tracing), the body read by the same
  parser, which is how tokenflow's adapters open theirs. Between the two floors is the SDK's request path,
  which every step pays; above the SDK floor is tokenflow's own work (the Agent, the events, the fold).
- **How far a ratio holds**: "90% interval" is a bootstrap of the row's ratio to the floor, the row's and
  the floor's processes resampled (bench/stats.ts): the ratios this run's processes are consistent with.
  **Floor again** runs the floor's very code as a contender of its own, so its distance from the floor is
  the suite's noise in this run; being the same code, its processes join the floor's as the reference.
  A target verdict is "within noise" when the interval holds the target.
- **Dispatch per step**: a second client of the same contender built on a timing \`fetch\` (so its cost
  stays out of the CPU figures) that notes when each request is made and when each response body chunk is
  handed to the client (a pull stream: a chunk is read only when the client asks). At each of the two step
  boundaries: from the last chunk of step n reaching the client to the \`fetch\` call of step n + 1, that is
  parsing the step's end, running the tool, building and sending the next request. The median of
  ${options.loops * 2} boundaries per process (after ${Math.min(2, options.warmups)} loops of warm-up), then over processes; in brackets the medians after step
  0 and after step 1. "vs SDK" is the contender's median minus the raw SDK loop's.

The AI SDK has a row for each of its majors 6 and 7, side by side; they are installed together under npm
aliases (bench/package.json). ${newerNodeNote(run.node, run.newerNode, 'a second floor, raw SDK and tokenflow `events` row')}

## Machine and versions

- ${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, shared with other jobs
  (load average before the run: ${load(run.loadAtStart)}; at its end: ${load(run.loadAtEnd)})
- ${nodeLine(run.node, run.newerNode)}

| package | version |
| --- | --- |
${versions().map(([name, version]) => `| ${name} | ${version} |`).join('\n')}

## Results

| format | contender | Node | CPU µs/token | × floor | 90% interval | while warming up: µs/token (× floor) | wall ms / loop | dispatch ms / step (after step 0 / 1) | vs SDK ms | runs ok |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

## Targets

tokenflow within ${RATIO_TARGET}x of the floor in CPU per token, and its tool dispatch adding under ${DISPATCH_TARGET_MS} ms per step
to the raw SDK loop's.

${targets.join('\n')}

## Network

${run.network.length === 0 ? 'No contender tried to reach anything but loopback.' : `Attempts recorded (and refused):\n\n${run.network.map((n) => `- ${n}`).join('\n')}`}
${failures.length ? `\n## Failed runs\n\n${failures.map((f) => `- ${f.contender} ${f.flavor} round ${f.round + 1}: ${String(f.error).split('\n')[0]}`).join('\n')}\n` : ''}`;
  writeFileSync(here('./RESULTS.md'), md);
  return md.slice(md.indexOf('## Results'), md.indexOf('## Network'));
}
