import type { TokenflowError } from '../../src/errors.js';
import type { ServerTimings, StopReason } from '../../src/events.js';
import type { WireMapper, WireSink } from '../../src/providers/runtime.js';

/** A sink that records every call, for testing wire mappers on their own. */
export class RecordingSink implements WireSink {
  calls: Array<[string, ...unknown[]]> = [];
  text = '';
  reasoningText = '';
  input: number | undefined;
  output: number | undefined;
  timings: ServerTimings | undefined;
  stop: StopReason | undefined;
  refusalText: string | undefined;
  failure: TokenflowError | undefined;

  start(model: string | undefined, id: string | undefined): void {
    this.calls.push(['start', model, id]);
  }
  token(text: string): void {
    this.calls.push(['token', text]);
    this.text += text;
  }
  reasoning(text: string): void {
    this.calls.push(['reasoning', text]);
    this.reasoningText += text;
  }
  reasoningSignature(signature: string): void {
    this.calls.push(['signature', signature]);
  }
  redactedReasoning(data: string): void {
    this.calls.push(['redacted', data]);
  }
  reasoningData(data: Record<string, unknown>): void {
    this.calls.push(['reasoningData', data]);
  }
  /** Arguments per wire key, as the engine keeps them. */
  args = new Map<number, string>();
  toolCall(key: number, id: string | undefined, name: string | undefined, argsDelta: string, kind?: string, providerData?: Record<string, unknown>): void {
    if (providerData !== undefined) this.calls.push(['toolCall', key, id, name, argsDelta, kind, providerData]);
    else if (kind === undefined) this.calls.push(['toolCall', key, id, name, argsDelta]);
    else this.calls.push(['toolCall', key, id, name, argsDelta, kind]);
    this.args.set(key, (this.args.get(key) ?? '') + argsDelta);
  }
  toolArguments(key: number): string {
    return this.args.get(key) ?? '';
  }
  providerTool(phase: 'call' | 'result', id: string, name: string, input: unknown, block: Record<string, unknown>): void {
    this.calls.push(['providerTool', phase, id, name, input, block]);
  }
  citation(citation: Record<string, unknown>): void {
    this.calls.push(['citation', citation]);
  }
  reset(reason: string): void {
    this.calls.push(['reset', reason]);
    this.text = '';
    this.reasoningText = '';
    this.args.clear();
  }
  usage(input: number | undefined, output: number | undefined, timings?: ServerTimings): void {
    if (input !== undefined) this.input = input;
    if (output !== undefined) this.output = output;
    if (timings) this.timings = timings;
  }
  done(stopReason: StopReason, refusal?: string): void {
    this.calls.push(['done', stopReason, refusal]);
    this.stop = stopReason;
    this.refusalText = refusal;
  }
  fail(error: TokenflowError): void {
    this.calls.push(['fail', error.name]);
    this.failure = error;
  }
}

/** Feeds `[event name, data]` pairs (data as an object or raw string) through a mapper. */
export function feed(mapper: WireMapper, events: Array<[string | undefined, unknown]>): RecordingSink {
  const sink = new RecordingSink();
  for (const [name, data] of events) mapper.event(name, typeof data === 'string' ? data : JSON.stringify(data), sink);
  return sink;
}
