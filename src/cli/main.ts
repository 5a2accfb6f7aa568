/**
 * The `tokenflow` command line. Built to `dist/cli.js` (the package's `bin`).
 */
import { parseArgs } from 'node:util';
import pkg from '../../package.json' with { type: 'json' };
import { PROVIDERS, runDemo, type ProviderName } from './demo.js';

const HELP = `tokenflow ${pkg.version}: LLM token streaming as RxJS Observables

Usage:
  tokenflow demo [--provider mock|openai|anthropic|groq] [--model M] [--prompt P] [--compare]
  tokenflow --help | --version

Commands:
  demo            Stream one answer token by token, then print its length, token count,
                  time to first token and tokens/s.

Options:
  --provider P    mock, openai, anthropic or groq. Default: the first of ANTHROPIC_API_KEY,
                  OPENAI_API_KEY, GROQ_API_KEY that is set, else mock (a local server, no key).
  --model M       The model to ask (default: one per provider).
  --prompt P      What to ask (default: why streaming makes a chat UI feel faster).
  --compare       Ask once without streaming, then with streaming, and compare the waits.
  -h, --help      Show this help.
  -v, --version   Show the version.

Environment, for testing the mock provider only:
  TOKENFLOW_DEMO_PROFILE  openai (default), anthropic, groq, instant or slow (4 tokens/s).
  TOKENFLOW_DEMO_FAULT    http-NNN: the mock answers with that HTTP error status.
  DEBUG                   Print stack traces of errors.
`;

function usageError(message: string): number {
  process.stderr.write(`tokenflow: ${message}; see tokenflow --help\n`);
  return 2;
}

/** Runs the CLI with `argv` (the arguments after the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        provider: { type: 'string' },
        model: { type: 'string' },
        prompt: { type: 'string' },
        compare: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    // parseArgs messages add a second sentence about `--`; the first one says what is wrong.
    return usageError((error instanceof Error ? error.message : String(error)).split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const [command, extra] = positionals;
  if (command === undefined) return usageError('missing command');
  if (command !== 'demo') return usageError(`unknown command "${command}"`);
  if (extra !== undefined) return usageError(`unexpected argument "${extra}"`);
  const provider = values.provider;
  if (provider !== undefined && !(PROVIDERS as readonly string[]).includes(provider)) {
    return usageError(`--provider must be one of ${PROVIDERS.join(', ')}, got "${provider}"`);
  }
  return runDemo({
    provider: provider as ProviderName | undefined,
    model: values.model,
    prompt: values.prompt,
    compare: values.compare,
  });
}

process.exitCode = await main(process.argv.slice(2));
// Everything is closed by now; should a keep-alive socket linger, do not hang the terminal on it.
setTimeout(() => process.exit(), 1_000).unref();
