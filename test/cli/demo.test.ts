/**
 * `tokenflow demo` end to end: the CLI runs as a child process against the built-in mock provider
 * (127.0.0.1 only), with no API key in its environment. Nothing here measures time: the waits are
 * for the child's output and exit, and the test timeout (scaled for load) only guards a hang.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ANSWER_START = 'Streaming shows the first words';
const STACK_LINE = /^\s+at /m;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStdout` sees each stdout chunk and the child (to send it a signal). */
function cli(args: string[], env: Record<string, string> = {}, onStdout?: (chunk: string, kill: () => void) => void): Promise<Result> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.endsWith('_API_KEY') && !key.startsWith('TOKENFLOW_') && key !== 'DEBUG'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    // The fast mock profile keeps the suite quick; tests that need another set their own.
    env: { ...clean, TOKENFLOW_DEMO_PROFILE: 'groq', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    onStdout?.(chunk, () => child.kill('SIGINT'));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

// One CLI at a time: each child loads tsx and compiles the sources, seconds of CPU on a busy machine.
// Run all at once, the nine children shared two cores and each test's timeout counted the others'
// work (the `--compare` test ran out at 30 s); one after another, each test's budget is its own.
describe('tokenflow demo', () => {
  it('streams the mock answer to stdout and the summary to stderr', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--prompt', 'Why stream?']);
    expect(code).toBe(0);
    expect(stdout.startsWith(ANSWER_START)).toBe(true);
    expect(stdout).toContain('aborts the request at the socket.');
    expect(stderr).toContain('Why stream?');
    expect(lines(stderr).filter((line) => line.includes('mock provider'))).toHaveLength(1);
    expect(stderr).toMatch(/\b503 chars, \d+ tokens \((exact|estimated)\), [\d.]+ s elapsed, [\d.]+ tokens\/s, first token after [\d.]+ s/);
    // Not a terminal: one static waiting line, no animation frames or cursor codes.
    expect(lines(stderr).filter((line) => line.includes('Waiting'))).toHaveLength(1);
    expect(stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\u001B\[/);
  });

  it('--compare shows the wait without and with streaming', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--compare']);
    expect(code).toBe(0);
    expect(stdout.split(ANSWER_START)).toHaveLength(3); // the answer twice: whole, then streamed
    expect(stderr).toMatch(/until first visible text\s+until whole answer/);
    const without = /without streaming\s+([\d.]+) s\s+([\d.]+) s/.exec(stderr);
    const withStreaming = /with streaming\s+([\d.]+) s\s+([\d.]+) s/.exec(stderr);
    expect(without).not.toBeNull();
    expect(withStreaming).not.toBeNull();
    // Without streaming nothing shows until the whole answer is there; streaming shows text sooner.
    expect(without![1]).toBe(without![2]);
    expect(Number(withStreaming![1])).toBeLessThan(Number(withStreaming![2]));
    expect(Number(withStreaming![1])).toBeLessThan(Number(without![1]));
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('tokenflow demo [--provider mock|openai|anthropic|groq]');
    expect(stdout).toContain('--compare');
    expect(stdout).toContain('TOKENFLOW_DEMO_PROFILE');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await cli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).version);
  });

  it('an unknown flag is one line on stderr and exit 2', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--fast']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain('--fast');
    expect(stderr).toContain('see tokenflow --help');
  });

  it('an unknown command is one line on stderr and exit 2', async () => {
    const { code, stderr } = await cli(['dmeo']);
    expect(code).toBe(2);
    expect(lines(stderr)).toEqual(['tokenflow: unknown command "dmeo"; see tokenflow --help']);
  });

  it('--provider openai without OPENAI_API_KEY exits 2 naming the variable', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--provider', 'openai']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain('OPENAI_API_KEY');
  });

  it('Ctrl-C after the first tokens cancels: "Cancelled.", exit 130, no stack trace', async () => {
    let sent = false;
    const { code, signal, stdout, stderr } = await cli(['demo'], { TOKENFLOW_DEMO_PROFILE: 'slow' }, (_chunk, kill) => {
      if (sent) return;
      sent = true;
      kill();
    });
    expect(sent).toBe(true);
    expect(signal).toBeNull(); // the CLI handled the signal and exited on its own
    expect(code).toBe(130);
    expect(lines(stderr).at(-1)).toBe('Cancelled.');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stdout.length).toBeGreaterThan(0);
    // Stopped early: the whole answer is 503 chars at 4 tokens/s (about 25 s), and its end never came.
    // (Not a character count: a busy machine may deliver the signal a few tokens later.)
    expect(stdout.length).toBeLessThan(503);
    expect(stdout).not.toContain('aborts the request at the socket.');
  });

  it('a failed request is one line and exit 1', async () => {
    const { code, stdout, stderr } = await cli(['demo'], { TOKENFLOW_DEMO_FAULT: 'http-500' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const errors = lines(stderr).filter((line) => line.startsWith('tokenflow:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('500');
    expect(lines(stderr).at(-1)).toBe(errors[0]);
    expect(stderr).not.toMatch(STACK_LINE);
  });
});
