import { Observable, type OperatorFunction } from 'rxjs';
import { ProtocolError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { operate } from '../operators/operate.js';
import { checkErrorHook, reportStreamError, serializeError, type StreamErrorHook } from '../sse/encode.js';
import { AGUIEncoder, checkEncoderOptions, type AGUIEncoderOptions } from './encoder.js';
import type { AGUIEvent } from './types.js';

/** Options of {@link toAGUI}. */
export interface ToAGUIOptions extends AGUIEncoderOptions {
  /**
   * Receives the real error of a failed stream (the client gets a sanitised `RUN_ERROR`): log it.
   * @defaultValue `console.error` (pass `() => {}` to silence it)
   */
  onError?: StreamErrorHook;
}

/** (internal) The option names of `toAGUI()`. */
export const TO_AGUI_KEYS = ['threadId', 'runId', 'messageId', 'onError'];

/** (internal) Checks `toAGUI()`'s options. */
export function checkToAGUIOptions(options: unknown, fn: string): ToAGUIOptions {
  const o = readOptions(options, fn, TO_AGUI_KEYS);
  const checked: ToAGUIOptions = checkEncoderOptions(o, fn);
  const onError = checkErrorHook(o.onError, 'options.onError');
  if (onError !== undefined) checked.onError = onError;
  return checked;
}

/**
 * Turns a tokenflow stream into the events of one AG-UI 1.0 run, for any AG-UI client
 * (`@ag-ui/client`'s `HttpAgent`, CopilotKit). A failure of the stream becomes `RUN_ERROR` (then the
 * Observable completes): the error as tokenflow's SSE relay sanitises it, never upstream text.
 * Unsubscribing unsubscribes the source (and so cancels the provider's request).
 *
 *   source:  --start--tok("Hi")--usage--done--|
 *   toAGUI:  --RUN_STARTED--TEXT_MESSAGE_START,TEXT_MESSAGE_CONTENT("Hi")--TEXT_MESSAGE_END,RUN_FINISHED--|
 *
 * See docs/protocols.md for which tokenflow event becomes which AG-UI event.
 *
 * @example
 * llm.stream(request).pipe(toAGUI({ threadId: input.threadId, runId: input.runId })).subscribe(send);
 * @param options - the run's `threadId` and `runId` (from the client's `RunAgentInput`), an optional
 *   `messageId` generator and `onError` hook
 * @returns an operator from `TokenEvent`s to AG-UI events
 * @throws InvalidArgumentError for missing ids or an unknown option (at once, before any subscription)
 */
export function toAGUI(options: ToAGUIOptions): OperatorFunction<TokenEvent, AGUIEvent> {
  const checked = checkToAGUIOptions(options, 'toAGUI');
  const { onError, ...encoderOptions } = checked;
  return (source) =>
    new Observable<AGUIEvent>((subscriber) => {
      const encoder = new AGUIEncoder(encoderOptions);
      const fail = (error: unknown) => {
        if (encoder.ended) return;
        const partialText = encoder.text;
        for (const event of encoder.fail(error)) subscriber.next(event);
        subscriber.complete();
        reportStreamError(onError, error, { partialText, sent: serializeError(error, partialText) });
      };
      operate(source, subscriber, {
        next: (event) => {
          let out: AGUIEvent[];
          try {
            out = encoder.push(event);
          } catch (error) {
            fail(error);
            return;
          }
          for (const e of out) subscriber.next(e);
          if (encoder.ended) subscriber.complete();
        },
        error: fail,
        complete: () => {
          if (!encoder.ended) fail(new ProtocolError('The stream completed without a done event, so the AG-UI run cannot finish as a success.', undefined, { partialText: encoder.text }));
        },
      });
    });
}
