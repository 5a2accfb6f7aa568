import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError, ProviderError } from '../../src/errors.js';
import { createResponseDocumentMapper, createResponsesMapper, toResponsesBody } from '../../src/providers/openai-responses-wire.js';
import { feed, RecordingSink } from '../helpers/recording-sink.js';

const ev = (type: string, rest: Record<string, unknown> = {}) => [type, { type, ...rest }] as [string, unknown];
const created = (model = 'gpt-x', id = 'resp_1') => ev('response.created', { response: { id, model, status: 'in_progress', output: [], usage: null } });
const completed = (output: unknown[] = [], usage: unknown = { input_tokens: 3, output_tokens: 2 }) =>
  ev('response.completed', { response: { id: 'resp_1', model: 'gpt-x', status: 'completed', output, usage } });
const only = (sink: RecordingSink, kind: string) => sink.calls.filter((c) => c[0] === kind);
/** A document holding these output items, as the non-streamed API returns it. */
const documentOf = (output: unknown[], extra: Record<string, unknown> = {}) =>
  feed(createResponseDocumentMapper(), [[undefined, { id: 'resp_1', model: 'gpt-x', status: 'completed', output, usage: { input_tokens: 3, output_tokens: 2 }, ...extra }]]);
/** The calls that make up the answer (start and usage aside), to compare a stream with its document. */
const answerOf = (sink: RecordingSink) => sink.calls.filter((c) => c[0] !== 'start');

const fnCall = { id: 'fc_1', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'f', arguments: '{"q":2}' };
const message = (text: string, annotations: unknown[] = []) => ({
  id: 'msg_1',
  type: 'message',
  status: 'completed',
  role: 'assistant',
  content: [{ type: 'output_text', text, annotations }],
});

describe('createResponsesMapper', () => {
  it('maps text deltas and response.completed with usage', () => {
    const sink = feed(createResponsesMapper(), [
      created(),
      ev('response.in_progress', { response: { id: 'resp_1' } }),
      ev('response.output_item.added', { output_index: 0, item: { type: 'message', id: 'msg_1', content: [] } }),
      ev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'Hi' }),
      ev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: ' there' }),
      ev('response.output_text.done', { output_index: 0, item_id: 'msg_1', content_index: 0, text: 'Hi there' }),
      ev('response.output_item.done', { output_index: 0, item: message('Hi there') }),
      completed([message('Hi there')]),
    ]);
    expect(sink.calls).toEqual([['start', 'gpt-x', 'resp_1'], ['token', 'Hi'], ['token', ' there'], ['done', 'end', undefined]]);
    expect([sink.input, sink.output]).toEqual([3, 2]);
  });

  it('keys function calls by output index; the engine makes the stop reason tool_use', () => {
    const sink = feed(createResponsesMapper(), [
      created(),
      ev('response.output_item.added', { output_index: 1, item: { ...fnCall, status: 'in_progress', arguments: '' } }),
      ev('response.function_call_arguments.delta', { output_index: 1, item_id: 'fc_1', delta: '{"q":' }),
      ev('response.function_call_arguments.delta', { output_index: 1, item_id: 'fc_1', delta: '2}' }),
      ev('response.function_call_arguments.done', { output_index: 1, item_id: 'fc_1', arguments: '{"q":2}' }),
      ev('response.output_item.done', { output_index: 1, item: fnCall }),
      completed([message(''), fnCall]),
    ]);
    expect(only(sink, 'toolCall')).toEqual([
      ['toolCall', 1, 'call_1', 'f', ''],
      ['toolCall', 1, undefined, undefined, '{"q":'],
      ['toolCall', 1, undefined, undefined, '2}'],
    ]);
    expect(sink.stop).toBe('end');
  });

  describe('arguments that come only at the end', () => {
    it('takes them from response.function_call_arguments.done when no delta came', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.function_call_arguments.done', { output_index: 0, item_id: 'fc_1', name: 'f', arguments: '{"q":2}' }),
        completed([]),
      ]);
      expect(only(sink, 'toolCall')).toEqual([['toolCall', 0, 'call_1', 'f', ''], ['toolCall', 0, undefined, undefined, '{"q":2}']]);
    });

    it('takes them from response.output_item.done when no argument event came', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.output_item.done', { output_index: 0, item: fnCall }),
        completed([]),
      ]);
      expect(sink.args.get(0)).toBe('{"q":2}');
    });

    it('sends only the remainder when the deltas are a prefix, and nothing when they are all of it', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.function_call_arguments.delta', { output_index: 0, delta: '{"q"' }),
        ev('response.function_call_arguments.done', { output_index: 0, arguments: '{"q":2}' }),
        ev('response.output_item.done', { output_index: 0, item: fnCall }),
        completed([fnCall]),
      ]);
      expect(only(sink, 'toolCall').map((c) => c[4])).toEqual(['', '{"q"', ':2}']);
    });

    it('accepts final arguments that differ from the deltas only in JSON spacing', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.function_call_arguments.delta', { output_index: 0, delta: '{"q": 2}' }),
        ev('response.output_item.done', { output_index: 0, item: fnCall }),
        completed([fnCall]),
      ]);
      expect(sink.args.get(0)).toBe('{"q": 2}');
      expect(sink.stop).toBe('end');
    });

    it('refuses final arguments that contradict the deltas (a wrong call is never passed on)', () => {
      const mapper = createResponsesMapper();
      const sink = feed(mapper, [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.function_call_arguments.delta', { output_index: 0, delta: '{"q":3}' }),
      ]);
      expect(() => mapper.event(undefined, JSON.stringify({ type: 'response.output_item.done', output_index: 0, item: fnCall }), sink)).toThrow(ProtocolError);
    });

    it('waits for the finished item when argument deltas come for a call never announced', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.function_call_arguments.delta', { output_index: 0, item_id: 'fc_1', delta: '{"q":' }),
        ev('response.function_call_arguments.done', { output_index: 0, item_id: 'fc_1', arguments: '{"q":2}' }),
        ev('response.output_item.done', { output_index: 0, item: fnCall }),
        completed([fnCall]),
      ]);
      expect(only(sink, 'toolCall')).toEqual([['toolCall', 0, 'call_1', 'f', '{"q":2}']]);
    });
  });

  describe('the final object is the truth', () => {
    it('yields a function call given only in response.completed, after the streamed text (LiteLLM bridge)', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'Let me ' }),
        ev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'check.' }),
        completed([message('Let me check.'), fnCall], { input_tokens: 7, output_tokens: 5 }),
      ]);
      expect(sink.calls).toEqual([
        ['start', 'gpt-x', 'resp_1'],
        ['token', 'Let me '],
        ['token', 'check.'],
        ['toolCall', 1, 'call_1', 'f', '{"q":2}'],
        ['done', 'end', undefined],
      ]);
      expect([sink.input, sink.output]).toEqual([7, 5]);
    });

    it('yields the text of a message given only in response.completed', () => {
      const sink = feed(createResponsesMapper(), [created(), completed([message('All at once.')])]);
      expect(sink.text).toBe('All at once.');
    });

    it('yields the text of a message given only in response.output_item.done, once', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...message(''), content: [] } }),
        ev('response.output_item.done', { output_index: 0, item: message('Late.') }),
        completed([message('Late.')]),
      ]);
      expect(only(sink, 'token')).toEqual([['token', 'Late.']]);
    });

    it('yields text given only in response.output_text.done', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_text.done', { output_index: 0, item_id: 'msg_1', content_index: 0, text: 'Done text.' }),
        completed([message('Done text.')]),
      ]);
      expect(only(sink, 'token')).toEqual([['token', 'Done text.']]);
    });

    it('matches final items by id when the stream numbered them differently', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_text.delta', { output_index: 5, item_id: 'msg_1', content_index: 0, delta: 'Hi' }),
        completed([message('Hi')]),
      ]);
      expect(sink.text).toBe('Hi');
    });

    it('never fills in message text when text deltas named no item (it could repeat them)', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_text.delta', { delta: 'Hi' }),
        completed([message('Hi'), fnCall]),
      ]);
      expect(sink.text).toBe('Hi');
      expect(sink.args.get(1)).toBe('{"q":2}');
    });

    it('adds nothing when response.completed repeats what was streamed, or holds no output', () => {
      const streamed = [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...fnCall, arguments: '' } }),
        ev('response.function_call_arguments.delta', { output_index: 0, delta: '{"q":2}' }),
        ev('response.output_item.done', { output_index: 0, item: fnCall }),
      ];
      const repeated = feed(createResponsesMapper(), [...streamed, completed([fnCall])]);
      const empty = feed(createResponsesMapper(), [...streamed, completed([])]);
      expect(repeated.calls).toEqual(empty.calls);
      expect(only(repeated, 'toolCall')).toHaveLength(2);
    });

    it('takes start from response.completed when no response.created came, and never an empty model', () => {
      const bare = feed(createResponsesMapper(), [completed([message('x')])]);
      expect(bare.calls[0]).toEqual(['start', 'gpt-x', 'resp_1']);
      const empty = feed(createResponsesMapper(), [created('', 'resp_2')]);
      expect(empty.calls[0]).toEqual(['start', undefined, 'resp_2']);
    });
  });

  describe('calls the application answers, by kind', () => {
    it('streams a custom_tool_call input as free-form text', () => {
      const item = { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_c', name: 'exec', input: 'print(1)' };
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...item, input: '' } }),
        ev('response.custom_tool_call_input.delta', { output_index: 0, item_id: 'ctc_1', delta: 'print(' }),
        ev('response.custom_tool_call_input.delta', { output_index: 0, item_id: 'ctc_1', delta: '1)' }),
        ev('response.custom_tool_call_input.done', { output_index: 0, item_id: 'ctc_1', input: 'print(1)' }),
        ev('response.output_item.done', { output_index: 0, item }),
        completed([item]),
      ]);
      expect(only(sink, 'toolCall')).toEqual([
        ['toolCall', 0, 'call_c', 'exec', '', 'custom_tool_call'],
        ['toolCall', 0, undefined, undefined, 'print('],
        ['toolCall', 0, undefined, undefined, '1)'],
      ]);
    });

    it('completes a custom_tool_call input given only in its .done event', () => {
      const item = { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_c', name: 'exec', input: '' };
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item }),
        ev('response.custom_tool_call_input.done', { output_index: 0, item_id: 'ctc_1', input: 'ls' }),
        completed([]),
      ]);
      expect(sink.args.get(0)).toBe('ls');
    });

    const kinds: Array<[string, Record<string, unknown>, string | undefined, string, string | undefined]> = [
      ['local_shell_call', { id: 'lsh_1', call_id: 'call_l', action: { type: 'exec', command: ['ls'], env: {} } }, 'call_l', '{"type":"exec","command":["ls"],"env":{}}', undefined],
      ['shell_call', { id: 'sh_1', call_id: 'call_s', action: { commands: ['pwd'], timeout_ms: null, max_output_length: null } }, 'call_s', '{"commands":["pwd"],"timeout_ms":null,"max_output_length":null}', undefined],
      ['apply_patch_call', { id: 'apc_1', call_id: 'call_p', operation: { type: 'delete_file', path: 'a.txt' } }, 'call_p', '{"type":"delete_file","path":"a.txt"}', undefined],
      ['computer_call', { id: 'cu_1', call_id: 'call_u', action: { type: 'click', button: 'left', x: 1, y: 2 }, pending_safety_checks: [] }, 'call_u', '{"type":"click","button":"left","x":1,"y":2}', undefined],
      ['computer_call', { id: 'cu_2', call_id: 'call_v', actions: [{ type: 'screenshot' }], pending_safety_checks: [] }, 'call_v', '[{"type":"screenshot"}]', undefined],
      ['mcp_approval_request', { id: 'mcpr_1', server_label: 'docs', name: 'search', arguments: '{"q":"x"}' }, 'mcpr_1', '{"q":"x"}', 'search'],
      ['tool_search_call', { id: 'ts_1', call_id: 'call_t', execution: 'client', arguments: { query: 'weather' }, status: 'completed' }, 'call_t', '{"query":"weather"}', undefined],
    ];
    it.each(kinds)('%s is a tool-call with its kind, its id and the JSON of its input', (type, fields, id, args, name) => {
      const item = { type, ...fields };
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item }),
        ev('response.output_item.done', { output_index: 0, item }),
        completed([item]),
      ]);
      expect(only(sink, 'toolCall')).toEqual([['toolCall', 0, id, name, args, type]]);
      expect(only(sink, 'providerTool')).toEqual([]);
      expect(answerOf(documentOf([item]))).toEqual(answerOf(sink));
    });

    it('never makes a tool call of an output item', () => {
      const outputs = [
        { type: 'function_call_output', id: 'o1', call_id: 'call_1', output: '42' },
        { type: 'computer_call_output', id: 'o2', call_id: 'call_2', output: {} },
        { type: 'local_shell_call_output', id: 'o3', output: 'ok' },
        { type: 'shell_call_output', id: 'o4', call_id: 'call_4', output: [] },
        { type: 'apply_patch_call_output', id: 'o5', call_id: 'call_5', status: 'completed' },
        { type: 'custom_tool_call_output', id: 'o6', call_id: 'call_6', output: 'x' },
        { type: 'tool_search_output', id: 'o7', call_id: null, execution: 'server', tools: [] },
        { type: 'program_output', id: 'o8', call_id: 'call_8', result: 'r', status: 'completed' },
        { type: 'mcp_approval_response', id: 'o9', approval_request_id: 'mcpr_1', approve: true },
        { type: 'some_future_item', id: 'o10', call_id: 'call_10' },
      ];
      const sink = feed(createResponsesMapper(), [
        created(),
        ...outputs.map((item, i) => ev('response.output_item.done', { output_index: i, item })),
        completed(outputs),
      ]);
      expect(sink.calls).toEqual([['start', 'gpt-x', 'resp_1'], ['done', 'end', undefined]]);
    });
  });

  describe('tools the provider runs', () => {
    const items: Array<[Record<string, unknown>, string, unknown]> = [
      [{ type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } }, 'web_search', { type: 'search', query: 'q' }],
      [{ type: 'file_search_call', id: 'fs_1', status: 'completed', queries: ['a', 'b'], results: null }, 'file_search', { queries: ['a', 'b'] }],
      [{ type: 'code_interpreter_call', id: 'ci_1', status: 'completed', code: 'print(1)', container_id: 'c', outputs: [] }, 'code_interpreter', { code: 'print(1)' }],
      [{ type: 'image_generation_call', id: 'ig_1', status: 'completed', result: 'b64' }, 'image_generation', undefined],
      [{ type: 'mcp_call', id: 'mcp_1', server_label: 's', name: 'search_docs', arguments: '{"q":"x"}', output: 'r' }, 'search_docs', { q: 'x' }],
      [{ type: 'mcp_call', id: 'mcp_2', server_label: 's', name: 'echo', arguments: 'not json', output: 'r' }, 'echo', 'not json'],
      [{ type: 'mcp_list_tools', id: 'mcpl_1', server_label: 's', tools: [] }, 'mcp_list_tools', undefined],
      [{ type: 'tool_search_call', id: 'ts_1', call_id: null, execution: 'server', arguments: { query: 'w' }, status: 'completed' }, 'tool_search', { query: 'w' }],
      [{ type: 'program', id: 'pg_1', call_id: 'call_pg', code: 'await f()', fingerprint: 'fp' }, 'program', { code: 'await f()' }],
    ];
    it.each(items)('%o is one provider-tool call with the finished item, never a tool-call', (item, name, input) => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } }),
        ev('response.output_item.done', { output_index: 0, item }),
        completed([item]),
      ]);
      expect(only(sink, 'providerTool')).toEqual([['providerTool', 'call', item.id, name, input, item]]);
      expect(only(sink, 'toolCall')).toEqual([]);
      expect(sink.stop).toBe('end');
      expect(answerOf(documentOf([item]))).toEqual(answerOf(sink));
    });

    it('reports a provider tool given only in response.completed', () => {
      const [item] = items[0]!;
      const sink = feed(createResponsesMapper(), [created(), completed([item])]);
      expect(only(sink, 'providerTool')).toHaveLength(1);
    });

    it('does not take code interpreter code deltas for answer text', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.code_interpreter_call_code.delta', { output_index: 0, item_id: 'ci_1', delta: 'print(1)' }),
        ev('response.mcp_call_arguments.delta', { output_index: 1, item_id: 'mcp_1', delta: '{}' }),
        completed([]),
      ]);
      expect(sink.calls).toEqual([['start', 'gpt-x', 'resp_1'], ['done', 'end', undefined]]);
    });
  });

  describe('citations and reasoning', () => {
    const citation = { type: 'url_citation', start_index: 0, end_index: 2, url: 'https://a.example', title: 'A' };

    it('sends each streamed annotation as a citation, once', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'Hi' }),
        ev('response.output_text.annotation.added', { output_index: 0, item_id: 'msg_1', content_index: 0, annotation_index: 0, annotation: citation }),
        ev('response.content_part.done', { output_index: 0, item_id: 'msg_1', content_index: 0, part: message('Hi', [citation]).content[0] }),
        ev('response.output_item.done', { output_index: 0, item: message('Hi', [citation]) }),
        completed([message('Hi', [citation])]),
      ]);
      expect(only(sink, 'citation')).toEqual([['citation', citation]]);
    });

    it('sends the annotations of a message given whole', () => {
      const sink = feed(createResponsesMapper(), [created(), completed([message('Hi', [citation])])]);
      expect(answerOf(sink)).toEqual([['token', 'Hi'], ['citation', citation], ['done', 'end', undefined]]);
      expect(answerOf(documentOf([message('Hi', [citation])]))).toEqual(answerOf(sink));
    });

    it('keeps reasoning summary and reasoning text deltas as reasoning', () => {
      const sink = feed(createResponsesMapper(), [
        created(),
        ev('response.reasoning_summary_text.delta', { output_index: 0, item_id: 'rs_1', summary_index: 0, delta: 'plan' }),
        ev('response.reasoning_text.delta', { output_index: 1, item_id: 'rs_2', content_index: 0, delta: 'think' }),
        ev('response.output_text.delta', { output_index: 2, item_id: 'msg_1', content_index: 0, delta: 'cut' }),
        ev('response.incomplete', { response: { incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 1, output_tokens: 9 } } }),
      ]);
      expect([sink.reasoningText, sink.text, sink.stop]).toEqual(['planthink', 'cut', 'max_tokens']);
    });

    it('fills in reasoning given only whole: in its .done events or the finished item', () => {
      const item = { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Sum.' }], content: [{ type: 'reasoning_text', text: 'Raw.' }] };
      const byDone = feed(createResponsesMapper(), [
        created(),
        ev('response.reasoning_summary_text.done', { output_index: 0, item_id: 'rs_1', summary_index: 0, text: 'Sum.' }),
        ev('response.output_item.done', { output_index: 0, item }),
        completed([item]),
      ]);
      expect(only(byDone, 'reasoning')).toEqual([['reasoning', 'Sum.'], ['reasoning', 'Raw.']]);
      const whole = feed(createResponsesMapper(), [created(), completed([item])]);
      expect(whole.reasoningText).toBe('Raw.Sum.');
      expect(answerOf(documentOf([item]))).toEqual(answerOf(whole));
    });

    it('reports refusal text on done, whether streamed or given whole', () => {
      const refusal = { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'refusal', refusal: 'No.' }] };
      const streamed = feed(createResponsesMapper(), [
        created(),
        ev('response.refusal.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'No.' }),
        ev('response.refusal.done', { output_index: 0, item_id: 'msg_1', content_index: 0, refusal: 'No.' }),
        completed([refusal]),
      ]);
      const whole = feed(createResponsesMapper(), [created(), completed([refusal])]);
      expect([streamed.stop, streamed.refusalText, streamed.text]).toEqual(['refusal', 'No.', '']);
      expect([whole.stop, whole.refusalText]).toEqual(['refusal', 'No.']);
    });
  });

  describe('malformed wire data', () => {
    const run = (data: string) => () => feed(createResponsesMapper(), [created(), [undefined, data]]);

    it('refuses a message that is not a JSON object', () => {
      for (const data of ['null', '[1]', '"text"', '7']) expect(run(data)).toThrow(ProtocolError);
    });

    it('refuses a delta that is not a string, naming the field', () => {
      expect(run(JSON.stringify({ type: 'response.output_text.delta', output_index: 0, delta: 5 }))).toThrow(/response\.output_text\.delta delta must be a string/);
      expect(run(JSON.stringify({ type: 'response.function_call_arguments.delta', output_index: 0, delta: {} }))).toThrow(ProtocolError);
      expect(run(JSON.stringify({ type: 'response.reasoning_text.delta', output_index: 0, delta: [1] }))).toThrow(ProtocolError);
    });

    it('refuses a final item whose text or arguments are not strings', () => {
      expect(run(JSON.stringify({ type: 'response.completed', response: { output: [{ ...fnCall, arguments: { q: 2 } }] } }))).toThrow(/function_call arguments must be a string/);
      expect(run(JSON.stringify({ type: 'response.completed', response: { output: [{ ...message(''), content: [{ type: 'output_text', text: 1 }] }] } }))).toThrow(ProtocolError);
      expect(run(JSON.stringify({ type: 'response.completed', response: { output: [null] } }))).toThrow(ProtocolError);
    });

    it('ignores event types it does not know', () => {
      const sink = feed(createResponsesMapper(), [created(), ev('response.future_event', { delta: 5 }), [undefined, '{"no_type":1}'], completed([])]);
      expect(sink.calls).toEqual([['start', 'gpt-x', 'resp_1'], ['done', 'end', undefined]]);
    });
  });

  it('reports an error event once, even when response.failed repeats it', () => {
    const sink = feed(createResponsesMapper(), [
      created(),
      ev('error', { code: 'insufficient_quota', message: 'You exceeded your current quota', param: null }),
      ev('response.failed', { response: { error: { code: 'insufficient_quota', message: 'quota' } } }),
    ]);
    expect(only(sink, 'fail')).toHaveLength(1);
    const error = sink.failure as ProviderError;
    expect([error.code, error.inStream]).toEqual(['insufficient_quota', true]);
    expect(error.message).toContain('exceeded your current quota');
  });

  it('maps response.incomplete reasons', () => {
    const stop = (reason: string | null) =>
      feed(createResponsesMapper(), [created(), ev('response.incomplete', { response: { incomplete_details: reason === null ? null : { reason } } })]).stop;
    expect([stop('max_output_tokens'), stop('content_filter'), stop(null)]).toEqual(['max_tokens', 'content_filter', 'other']);
  });
});

describe('createResponseDocumentMapper', () => {
  it('maps every item as the stream does: text, citations, calls by position, provider tools', () => {
    const web = { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } };
    const sink = documentOf([web, message('Hi', [{ type: 'url_citation', url: 'u' }]), fnCall]);
    expect(sink.calls).toEqual([
      ['start', 'gpt-x', 'resp_1'],
      ['providerTool', 'call', 'ws_1', 'web_search', { type: 'search', query: 'q' }, web],
      ['token', 'Hi'],
      ['citation', { type: 'url_citation', url: 'u' }],
      ['toolCall', 2, 'call_1', 'f', '{"q":2}'],
      ['done', 'end', undefined],
    ]);
  });

  it('maps incomplete and failed documents', () => {
    expect(documentOf([message('cut')], { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }).stop).toBe('max_tokens');
    const failed = documentOf([], { status: 'failed', error: { code: 'server_error', message: 'boom' } });
    expect(failed.failure?.name).toBe('ProviderError');
  });

  it('refuses a document that is not a JSON object', () => {
    expect(() => feed(createResponseDocumentMapper(), [[undefined, '[]']])).toThrow(ProtocolError);
  });
});

describe('toResponsesBody', () => {
  it('sends system prompts as instructions and refuses stop sequences, which the API lacks', () => {
    const body = toResponsesBody({ model: 'm', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'q' }], maxTokens: 9 }, true);
    expect(body).toEqual({ model: 'm', input: [{ role: 'user', content: 'q' }], instructions: 'sys', max_output_tokens: 9, stream: true });
    expect(() => toResponsesBody({ model: 'm', messages: [{ role: 'user', content: 'q' }], stop: ['x'] }, true)).toThrow(InvalidArgumentError);
  });
});
