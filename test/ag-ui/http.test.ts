/**
 * A real `@ag-ui/client` `HttpAgent` against a tokenflow endpoint on 127.0.0.1: it POSTs its
 * `RunAgentInput`, the server reads it with `readRunAgentInput()`, runs an Agent on the mock
 * provider and answers with `aguiResponse()`. The client's own event verification runs on every
 * run (success, a tool loop, an error, an abort), and the messages it assembles are checked.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { HttpAgent, parseProtoStream, type Message } from '@ag-ui/client';
import { finalize, firstValueFrom, from, lastValueFrom, Observable, of, Subject, toArray, type Subscriber } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { aguiResponse, fromAGUI, fromAGUIMessages, readRunAgentInput, type AGUIEvent } from '../../src/ag-ui/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { collect } from '../../src/operators/collect.js';
import type { TokenEvent } from '../../src/events.js';
import { startMockProvider, type MockFault, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { listenLocal, type LocalServer } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text);
}

interface Endpoint {
  local: LocalServer;
  mock: MockProvider;
  /** Resolves when a run's upstream was let go (completed, failed or unsubscribed). */
  released: Promise<void>;
  requests: ReturnType<typeof readRunAgentInput>[];
}

/** A tokenflow AG-UI endpoint: an Agent with a `weather` tool on the mock provider. */
async function endpoint(script: MockScript | ((request: MockRequest) => MockScript), faults?: MockFault): Promise<Endpoint> {
  const mock = await startMockProvider({ flavor: 'openai', script, ...(faults ? { faults } : {}) });
  const agent = new Agent({ provider: makeProvider('openai', mock), model: 'test-model' });
  const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const requests: Endpoint['requests'] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const run = readRunAgentInput(await readBody(req));
      requests.push(run);
      const history = run.messages.slice(0, -1);
      const last = run.messages.at(-1);
      const message = last?.role === 'user' && typeof last.content === 'string' ? last.content : '';
      const tokens$ = agent.stream(message, { tools: { weather }, history }).pipe(finalize(release));
      const response = await aguiResponse(tokens$, { threadId: run.threadId, runId: run.runId, accept: req.headers.accept ?? null, onError: () => {} });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      const reader = response.body!.getReader();
      res.on('close', () => void reader.cancel());
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
      res.end();
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  const local = await listenLocal(server);
  cleanups.push(() => mock.close(), () => local.close());
  return { local, mock, released, requests };
}

const user = (id: string, content: string): Message => ({ id, role: 'user', content });

describe('HttpAgent (@ag-ui/client) against aguiResponse()', () => {
  it('a text answer: the client verifies the run and assembles one assistant message', async () => {
    const { local, requests } = await endpoint({ text: ['Hello', ' there.'] });
    const client = new HttpAgent({ url: local.origin, threadId: 'thread-a', initialMessages: [user('u1', 'Hi')] });
    const result = await client.runAgent({ runId: 'run-a' });
    expect(result.newMessages).toMatchObject([{ id: 'run-a-1', role: 'assistant', content: 'Hello there.' }]);
    expect(result.newMessages).toHaveLength(1);
    expect(requests[0]).toMatchObject({ threadId: 'thread-a', runId: 'run-a', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('a tool loop: assistant messages with the call, the tool message with its result, and the final text', async () => {
    const script = (request: MockRequest): MockScript =>
      request.toolResults.length === 0
        ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], usage: { inputTokens: 20, outputTokens: 5 } }
        : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };
    const { local } = await endpoint(script);
    const client = new HttpAgent({ url: local.origin, threadId: 'thread-b', initialMessages: [user('u1', 'Weather?')] });
    const result = await client.runAgent({ runId: 'run-b' });
    expect(result.newMessages).toHaveLength(3);
    expect(result.newMessages).toMatchObject([
      { id: 'run-b-1', role: 'assistant', toolCalls: [{ id: 'call_w1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { id: 'run-b-2', role: 'tool', toolCallId: 'call_w1', content: '{"city":"Paris","temperature":21}' },
      { id: 'run-b-3', role: 'assistant', content: 'Sunny in Paris.' },
    ]);
    // The next turn sends the whole history back: it reads as tokenflow messages again.
    const history = fromAGUIMessages(client.messages);
    expect(history).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: [{ type: 'tool-call', id: 'call_w1', name: 'weather', input: { city: 'Paris' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_w1', name: 'weather', output: '{"city":"Paris","temperature":21}' }] },
      { role: 'assistant', content: 'Sunny in Paris.' },
    ]);
  });

  it('an error run: RUN_ERROR with the sanitised message reaches the client onRunErrorEvent; no secret crosses', async () => {
    const secret = 'sk-live-NOTFORBROWSERS';
    const { local } = await endpoint({ text: ['One', ' two', ' three'] }, { errorEventAfter: 1, error: { type: 'server_error', message: `bad key ${secret}` } });
    const client = new HttpAgent({ url: local.origin, threadId: 'thread-c', initialMessages: [user('u1', 'Hi')] });
    const errors: unknown[] = [];
    const outcome = await client
      .runAgent({ runId: 'run-c' }, { onRunErrorEvent: ({ event }) => void errors.push(event) })
      .then(() => 'resolved', (error: unknown) => error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ type: 'RUN_ERROR', message: 'The provider failed or is overloaded.', code: 'ProviderError', metadata: { tokenflow: { partialText: 'One' } } });
    expect(JSON.stringify(errors)).not.toContain(secret);
    expect(String(outcome)).not.toContain(secret);
  });

  it('aborting the run closes the connection, and the server lets go of the upstream request', async () => {
    const { local, released } = await endpoint({ text: ['a', 'b', 'c', 'd'] }, { stallAfter: 2 });
    const client = new HttpAgent({ url: local.origin, threadId: 'thread-d', initialMessages: [user('u1', 'Hi')] });
    let abortedAfterContent = false;
    const run = client.runAgent(
      { runId: 'run-d' },
      {
        onTextMessageContentEvent: ({ textMessageBuffer }) => {
          // The second token has arrived (the buffer holds the text before this event): stop.
          if (textMessageBuffer === 'a' && !abortedAfterContent) {
            abortedAfterContent = true;
            client.abortRun();
          }
        },
      },
    );
    await run.catch(() => undefined);
    await released;
    expect(abortedAfterContent).toBe(true);
  });

  it('protobuf when the client asks for it (Accept: application/vnd.ag-ui.event+proto)', async () => {
    const { local } = await endpoint({ text: ['Proto', ' works.'] });
    const response = await fetch(local.origin, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/vnd.ag-ui.event+proto' },
      body: JSON.stringify({ threadId: 't', runId: 'r', messages: [{ id: 'u', role: 'user', content: 'Hi' }], tools: [], context: [] }),
    });
    expect(response.headers.get('content-type')).toBe('application/vnd.ag-ui.event+proto');
    const chunks$ = new Observable<{ type: 'data'; data: Uint8Array }>((subscriber: Subscriber<{ type: 'data'; data: Uint8Array }>) => {
      void (async () => {
        const reader = response.body!.getReader();
        for (let r = await reader.read(); !r.done; r = await reader.read()) subscriber.next({ type: 'data', data: r.value });
        subscriber.complete();
      })();
    });
    const events = await lastValueFrom(from(parseProtoStream(chunks$ as never) as unknown as Observable<AGUIEvent>).pipe(toArray()));
    expect(events.map((e) => e.type)).toEqual(['RUN_STARTED', 'STEP_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'STEP_FINISHED', 'RUN_FINISHED']);
    expect(events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => (e as { delta: string }).delta)).toEqual(['Proto', ' works.']);
  });

  it('SSE by default, with AG-UI data-only messages', async () => {
    const { local } = await endpoint({ text: 'Plain SSE.' });
    const response = await fetch(local.origin, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: 't', runId: 'r', messages: [{ id: 'u', role: 'user', content: 'Hi' }], tools: [], context: [] }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(text.startsWith('data: {"type":"RUN_STARTED","threadId":"t","runId":"r"')).toBe(true);
  });
});

describe('fromAGUI() on an HttpAgent run (its own copy of RxJS)', () => {
  it('reads the tool loop back as tokenflow events: collect() gives the loop result', async () => {
    const script = (request: MockRequest): MockScript =>
      request.toolResults.length === 0
        ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], usage: { inputTokens: 20, outputTokens: 5 } }
        : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };
    const { local } = await endpoint(script);
    const client = new HttpAgent({ url: local.origin });
    const answer = await lastValueFrom(
      fromAGUI(client.run({ threadId: 't', runId: 'r', messages: [user('u1', 'Weather?')], tools: [], context: [] })).pipe(collect()),
    );
    expect(answer.content).toBe('Sunny in Paris.');
    expect(answer.usage).toEqual({ inputTokens: 60, outputTokens: 8, estimated: false });
    expect(answer.steps?.[0]?.toolResults).toMatchObject([{ id: 'call_w1', name: 'weather', output: { city: 'Paris', temperature: 21 } }]);
  });
});

describe('aguiResponse() on its own', () => {
  it('is lazy: building the Response subscribes nothing; cancelling the body unsubscribes', async () => {
    let subscribed = 0;
    let unsubscribed = 0;
    const tokens$ = new Observable<TokenEvent>((subscriber) => {
      subscribed++;
      subscriber.next({ type: 'start', provider: 'p', model: 'm', t: 0 });
      return () => unsubscribed++;
    });
    const response = await aguiResponse(tokens$, { threadId: 't', runId: 'r' });
    expect(subscribed).toBe(0);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('RUN_STARTED');
    expect(subscribed).toBe(1);
    await reader.cancel();
    expect(unsubscribed).toBe(1);
  });

  it('a client that stops reading: past maxBufferedBytes the upstream is cancelled and the run ends with RUN_ERROR', async () => {
    const upstream = new Subject<TokenEvent>();
    const response = await aguiResponse(upstream, { threadId: 't', runId: 'r', maxBufferedBytes: 500, onError: () => {} });
    const reader = response.body!.getReader();
    const reading = reader.read();
    upstream.next({ type: 'start', provider: 'p', model: 'm', t: 0 });
    expect(new TextDecoder().decode((await reading).value)).toContain('RUN_STARTED');
    // The client reads nothing more while the answer keeps coming.
    for (let i = 0; i < 200 && upstream.observed; i++) upstream.next({ type: 'token', text: `word${i} `, index: i, t: i });
    expect(upstream.observed).toBe(false);
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    const last = JSON.parse(rest.trim().split('\n\n').at(-1)!.replace(/^data: /, '')) as { type: string; code?: string };
    expect(last).toMatchObject({ type: 'RUN_ERROR', code: 'QueueOverflowError' });
    expect(rest.length).toBeLessThan(2_000);
  });

  it('rejects bad input before subscribing', async () => {
    const error = await aguiResponse(of(), { threadId: '', runId: 'r' }).catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).field).toBe('options.threadId');
  });
});

describe('readRunAgentInput() and fromAGUIMessages()', () => {
  it('maps roles, parts, tools and context', () => {
    const run = readRunAgentInput({
      threadId: 't',
      runId: 'r',
      messages: [
        { id: '1', role: 'developer', content: 'Be brief.' },
        { id: '2', role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image', source: { type: 'url', value: 'https://example.com/a.png' } }] },
        { id: '3', role: 'reasoning', content: 'thought', encryptedValue: 'sig' },
        { id: '4', role: 'assistant', content: 'Calling.', toolCalls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { id: '5', role: 'tool', toolCallId: 'c1', content: '', error: 'it failed' },
        { id: '6', role: 'activity', activityType: 'progress', content: {} },
      ],
      tools: [{ name: 'lookup', description: 'Looks up.', parameters: { type: 'object', properties: {} } }],
      context: [{ description: 'city', value: 'Paris' }],
    });
    expect(run.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image', image: 'https://example.com/a.png' }] },
      { role: 'assistant', content: [{ type: 'reasoning', text: 'thought', signature: 'sig' }, { type: 'text', text: 'Calling.' }, { type: 'tool-call', id: 'c1', name: 'f', input: { a: 1 } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', name: 'f', output: 'it failed', isError: true }] },
    ]);
    expect(run.tools).toEqual([{ name: 'lookup', description: 'Looks up.', parameters: { type: 'object', properties: {} } }]);
    expect(run.context).toBe('city: Paris');
  });

  it.each([
    [{ runId: 'r', messages: [] }, 'input.threadId'],
    [{ threadId: 't', runId: 'r', messages: {} }, 'input.messages'],
    [{ threadId: 't', runId: 'r', messages: [{ id: '1', role: 'robot', content: 'x' }] }, 'input.messages[0].role'],
    [{ threadId: 't', runId: 'r', messages: [{ id: '1', role: 'tool', toolCallId: 'nope', content: 'x' }] }, 'input.messages[0].toolCallId'],
    [{ threadId: 't', runId: 'r', messages: [{ id: '1', role: 'assistant', toolCalls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] }] }, 'input.messages[0].toolCalls[0].function.arguments'],
    [{ threadId: 't', runId: 'r', messages: [{ id: '1', role: 'user', content: [{ type: 'audio', source: { type: 'url', value: 'https://x' } }] }] }, 'input.messages[0].content[0]'],
    [{ threadId: 't', runId: 'r', messages: [], tools: [{ description: 'no name' }] }, 'input.tools[0].name'],
  ])('refuses %j naming %s', (body, field) => {
    let caught: unknown;
    try {
      readRunAgentInput(body);
    } catch (error) {
      caught = error;
    }
    expect(InvalidArgumentError.isInstance(caught)).toBe(true);
    expect((caught as InvalidArgumentError).field).toBe(field);
  });

  it('first message of a fresh HttpAgent run is what the server got', async () => {
    const { local, requests } = await endpoint({ text: 'ok' });
    const client = new HttpAgent({ url: local.origin, threadId: 'thread-e', initialMessages: [user('u1', 'First')] });
    await firstValueFrom(of(await client.runAgent({ runId: 'run-e', context: [{ description: 'tz', value: 'CET' }] })));
    expect(requests[0]!.context).toBe('tz: CET');
  });
});
