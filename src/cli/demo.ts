/**
 * `tokenflow demo`: streams one answer token by token to the terminal, from a real provider when
 * its API key is set and otherwise from the built-in mock provider; `--compare` first asks without
 * streaming to show the difference in perceived wait.
 */
import { tap } from 'rxjs';
import yoctoSpinner from 'yocto-spinner';
import { collect, type AgentResponse, type ChatRequest, type Provider } from '../index.js';
import { isMissingPackage } from '../providers/peer.js';

/** The providers `--provider` accepts. */
export const PROVIDERS = ['mock', 'openai', 'anthropic', 'groq'] as const;
/** One of {@link PROVIDERS}. */
export type ProviderName = (typeof PROVIDERS)[number];

/** What `tokenflow demo` was asked to do. */
export interface DemoOptions {
  /** @defaultValue the first provider whose API key is set, else `mock` */
  provider?: ProviderName | undefined;
  model?: string | undefined;
  prompt?: string | undefined;
  /** Ask once without streaming, then with streaming, and compare the waits. */
  compare?: boolean | undefined;
}

/** Mock latency profiles for `TOKENFLOW_DEMO_PROFILE` (for tests): the library's plus a slow one. */
const MOCK_PROFILES = ['openai', 'anthropic', 'groq', 'instant', 'slow'] as const;

const DEFAULT_PROMPT = 'In three short paragraphs, explain why streaming tokens makes a chat UI feel faster.';

const MOCK_ANSWER =
  'Streaming shows the first words within a second, while the rest of the answer is still being written. ' +
  'People judge speed by the first sign of life, not by the last word.\n\n' +
  'A chat that waits for the whole answer feels frozen for the full generation time; a streamed one feels ' +
  'like someone typing, so the same total time reads as responsive.\n\n' +
  'Streaming also lets a user stop an answer that is going the wrong way, which saves time and tokens: ' +
  'with tokenflow, unsubscribing aborts the request at the socket.';

type AdapterOptions = { apiKey?: string; baseURL?: string; maxRetries?: number };

/**
 * Real providers in the order their keys are looked for; each module is imported only when chosen.
 * `sdk` is the package the adapter needs; `probe` loads it (a literal import, so the CLI bundle
 * keeps it external) to learn whether it is installed.
 */
const REAL = {
  anthropic: {
    envVar: 'ANTHROPIC_API_KEY',
    model: 'claude-sonnet-4-6',
    label: 'Anthropic',
    sdk: '@anthropic-ai/sdk',
    probe: () => import('@anthropic-ai/sdk'),
    adapter: async (): Promise<(options?: AdapterOptions) => Provider> => (await import('../providers/anthropic.js')).anthropic,
  },
  openai: {
    envVar: 'OPENAI_API_KEY',
    model: 'gpt-4o-mini',
    label: 'OpenAI',
    sdk: 'openai',
    probe: () => import('openai'),
    adapter: async (): Promise<(options?: AdapterOptions) => Provider> => (await import('../providers/openai.js')).openai,
  },
  groq: {
    envVar: 'GROQ_API_KEY',
    model: 'llama-3.3-70b-versatile',
    label: 'Groq',
    sdk: 'groq-sdk',
    probe: () => import('groq-sdk'),
    adapter: async (): Promise<(options?: AdapterOptions) => Provider> => (await import('../providers/groq.js')).groq,
  },
} as const;

type RealName = keyof typeof REAL;

/**
 * The SDKs the mock may stream through, in order of preference. The mock speaks every wire format,
 * so the keyless demo works with whichever one SDK the user installed (README: `npm install
 * tokenflow rxjs @anthropic-ai/sdk`), and still shows the real adapter and SDK at work.
 */
const MOCK_ORDER: readonly RealName[] = ['openai', 'anthropic', 'groq'];

/** `true` when the SDK of `name` is installed; other load failures (a broken install) propagate. */
async function installed(name: RealName): Promise<boolean> {
  try {
    await REAL[name].probe();
    return true;
  } catch (error) {
    if (isMissingPackage(error, REAL[name].sdk)) return false;
    throw error;
  }
}

/** A failure to report as one line with this exit code (2: the command line or environment is wrong). */
class DemoError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Setup {
  provider: Provider;
  model: string;
  close?: () => Promise<void>;
}

/** `true` while the answer on stdout has not ended its line (so stderr starts a new one). */
let midLine = false;

function say(line: string): void {
  process.stderr.write(`${midLine ? '\n' : ''}${line}\n`);
  midLine = false;
}

function print(text: string): void {
  process.stdout.write(text);
  midLine = !text.endsWith('\n');
}

/**
 * Runs `tokenflow demo` and resolves to the process exit code: 0, 1 (the request failed),
 * 2 (bad option or missing key) or 130 (cancelled with Ctrl-C). Errors are printed as one line.
 */
export async function runDemo(options: DemoOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: stop waiting for cleanup
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let setup: Setup | undefined;
  try {
    setup = await prepare(options, env);
    const prompt = options.prompt ?? DEFAULT_PROMPT;
    const request: ChatRequest = { model: setup.model, messages: [{ role: 'user', content: prompt }] };
    say(`> ${prompt}\n`);
    if (options.compare) {
      say('Without streaming:');
      const whole = await completeAnswer(setup.provider, request, controller.signal);
      say('\nWith streaming:');
      const streamed = await streamAnswer(setup.provider, request, controller.signal);
      say(`\n${compareTable(whole, streamed)}`);
    } else {
      say(`\n${summary(await streamAnswer(setup.provider, request, controller.signal))}`);
    }
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      say('Cancelled.');
      return 130;
    }
    say(`tokenflow: ${oneLine(error)}`);
    if (env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return error instanceof DemoError ? error.exitCode : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await setup?.close?.();
  }
}

async function prepare(options: DemoOptions, env: NodeJS.ProcessEnv): Promise<Setup> {
  const name = options.provider ?? (Object.keys(REAL) as RealName[]).find((n) => env[REAL[n].envVar]) ?? 'mock';
  if (name === 'mock') return startMock(options, env);
  const real = REAL[name];
  if (!env[real.envVar]) {
    throw new DemoError(`--provider ${name} needs ${real.envVar} in the environment (or use --provider mock).`, 2);
  }
  if (!(await installed(name))) {
    // Name only what the user typed, or can type: the flag, or the variable that chose this provider.
    const why = options.provider === undefined ? `${real.envVar} is set, so the demo asks ${real.label}, which` : `--provider ${name}`;
    throw new DemoError(`${why} needs the ${real.sdk} package: npm install ${real.sdk} (or run tokenflow demo --provider mock).`, 2);
  }
  const provider = (await real.adapter())();
  const model = options.model ?? real.model;
  say(`Streaming from ${real.label} (${model}, ${real.envVar} is set).`);
  return { provider, model };
}

async function startMock(options: DemoOptions, env: NodeJS.ProcessEnv): Promise<Setup> {
  const sdkName = await firstInstalled();
  const real = REAL[sdkName];
  const profileName = env.TOKENFLOW_DEMO_PROFILE ?? sdkName;
  if (!(MOCK_PROFILES as readonly string[]).includes(profileName)) {
    throw new DemoError(`TOKENFLOW_DEMO_PROFILE must be one of ${MOCK_PROFILES.join(', ')}.`, 2);
  }
  const faultName = env.TOKENFLOW_DEMO_FAULT;
  const status = faultName === undefined ? undefined : /^http-([45]\d\d)$/.exec(faultName)?.[1];
  if (faultName !== undefined && status === undefined) {
    throw new DemoError('TOKENFLOW_DEMO_FAULT must look like http-500 (an HTTP error status).', 2);
  }
  const { startMockProvider, profiles } = await import('../testing/index.js');
  const provider = await real.adapter();
  const mock = await startMockProvider({
    flavor: sdkName,
    profile: profileName === 'slow' ? { ttftMs: 300, tokensPerSecond: 4 } : profiles[profileName as keyof typeof profiles],
    script: { text: MOCK_ANSWER },
    ...(status === undefined ? {} : { faults: { http: { status: Number(status) } } }),
  });
  say(
    `Using the built-in mock provider in ${real.label}'s format, through ${real.sdk} (no API key set); ` +
      'set ANTHROPIC_API_KEY, OPENAI_API_KEY or GROQ_API_KEY for a real one.',
  );
  return {
    provider: provider({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }),
    model: options.model ?? real.model,
    close: () => mock.close(),
  };
}

/** The first installed SDK the mock can stream through (see {@link MOCK_ORDER}). */
async function firstInstalled(): Promise<RealName> {
  for (const name of MOCK_ORDER) if (await installed(name)) return name;
  // The README's install line names @anthropic-ai/sdk: suggest that one first.
  const [first, ...others] = (Object.keys(REAL) as RealName[]).map((n) => REAL[n].sdk);
  throw new DemoError(
    `the demo streams through a provider SDK, and none is installed: npm install ${first} (or ${others.join(', or ')}).`,
    2,
  );
}

/** Shows a spinner on a terminal; elsewhere (pipes, tests) one static line and no animation. */
function waiting(text: string): () => void {
  if (!process.stderr.isTTY) {
    say(text);
    return () => {};
  }
  const spinner = yoctoSpinner({ text, handleSignals: false }).start();
  return () => void spinner.stop();
}

/** Streams the answer to stdout; a cancel unsubscribes, which aborts the HTTP request. */
function streamAnswer(provider: Provider, request: ChatRequest, signal: AbortSignal): Promise<AgentResponse> {
  signal.throwIfAborted();
  const stopSpinner = waiting('Waiting for the first token…');
  let onAbort = () => {};
  return new Promise<AgentResponse>((resolve, reject) => {
    const subscription = provider
      .stream(request)
      .pipe(
        tap((event) => {
          if (event.type !== 'token') return;
          stopSpinner();
          print(event.text);
        }),
        collect(),
      )
      .subscribe({ next: resolve, error: reject });
    onAbort = () => {
      subscription.unsubscribe();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  }).finally(() => {
    stopSpinner();
    signal.removeEventListener('abort', onAbort);
  });
}

/** Asks without streaming and prints the whole answer at once when it arrives. */
async function completeAnswer(provider: Provider, request: ChatRequest, signal: AbortSignal): Promise<AgentResponse> {
  signal.throwIfAborted();
  const stopSpinner = waiting('Waiting for the whole answer…');
  try {
    const answer = await provider.complete(request, { signal });
    stopSpinner();
    print(answer.content);
    return answer;
  } finally {
    stopSpinner();
  }
}

const seconds = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

function summary(answer: AgentResponse): string {
  const { metrics, usage } = answer;
  const rate = metrics.tokensPerSecond === undefined ? 'n/a' : metrics.tokensPerSecond.toFixed(1);
  return (
    `${metrics.chars} chars, ${usage.outputTokens} tokens (${usage.estimated ? 'estimated' : 'exact'}), ` +
    `${seconds(metrics.elapsedMs)} elapsed, ${rate} tokens/s, first token after ${seconds(metrics.ttftMs)}`
  );
}

function compareTable(whole: AgentResponse, streamed: AgentResponse): string {
  const rows: Array<[string, string, string]> = [
    ['', 'until first visible text', 'until whole answer'],
    ['without streaming', seconds(whole.metrics.elapsedMs), seconds(whole.metrics.elapsedMs)],
    ['with streaming', seconds(streamed.metrics.ttftMs), seconds(streamed.metrics.elapsedMs)],
  ];
  return rows.map(([label, first, all]) => `${label.padEnd(18)}${first.padStart(26)}${all.padStart(20)}`).join('\n');
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
