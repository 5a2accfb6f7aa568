import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { operate } from '../operators/operate.js';
import { readOptions } from '../operators/internal.js';
import { checkErrorHook, reportStreamError, serializeError, type StreamErrorHook } from '../sse/encode.js';
import type { UIMessageChunk } from './chunks.js';
import { checkEncoderOptions, ENCODER_OPTIONS, UIMessageStreamEncoder, type UIMessageStreamEncoderOptions } from './encoder.js';

/** Options of {@link toUIMessageStream}. */
export interface UIMessageStreamOptions extends UIMessageStreamEncoderOptions {
  /**
   * Gets the full error of a failed stream on the server (the client gets only the sanitised
   * `error` chunk): log it. A throw or rejection is reported with `console.error`.
   * @defaultValue logs the error with `console.error`
   */
  onError?: StreamErrorHook;
}

const OPTIONS = [...ENCODER_OPTIONS, 'onError'];

/** Checks the options shared by the operator and the HTTP writers. */
export function checkStreamOptions(options: unknown, fn: string, extra: readonly string[] = []): { encoder: UIMessageStreamEncoderOptions; onError: StreamErrorHook | undefined; rest: Record<string, unknown> } {
  const o = readOptions(options, fn, [...OPTIONS, ...extra]);
  return { encoder: checkEncoderOptions(o, 'options'), onError: checkErrorHook(o.onError, 'options.onError'), rest: o };
}

/**
 * Maps a tokenflow stream to the AI SDK's UI message stream chunks, what `useChat` reads (see
 * {@link UIMessageStreamEncoder} and docs/protocols.md for the mapping). Unsubscribing unsubscribes
 * the source, which aborts the provider's request.
 *
 *   source:              --start--tok("Hi")--tok("!")--usage--done--|
 *   toUIMessageStream(): --start,start-step--text-start,text-delta("Hi")--text-delta("!")--message-metadata--text-end,finish-step,finish--|
 *
 * The output never errors: a failure is one `error` chunk with a sanitised message (or `abort` when
 * the stream was stopped), then completion; the full error goes to `onError`. A source that
 * completes without `done` is such a failure too.
 *
 * @example
 * agent.stream(question, { tools }).pipe(toUIMessageStream({ messageId })).subscribe((chunk) => send(chunk));
 *
 * @param options - `messageId`, `metadata`, `onError`
 * @returns an operator emitting {@link UIMessageChunk}s
 * @throws InvalidArgumentError for an unknown option or a bad value
 */
export function toUIMessageStream(options?: UIMessageStreamOptions): OperatorFunction<TokenEvent, UIMessageChunk> {
  const checked = checkStreamOptions(options, 'toUIMessageStream');
  return (source) =>
    new Observable<UIMessageChunk>((subscriber) => {
      const encoder = new UIMessageStreamEncoder(checked.encoder);
      const emit = (chunks: readonly UIMessageChunk[]): void => {
        for (const chunk of chunks) subscriber.next(chunk);
      };
      const fail = (error: unknown): void => {
        const sent = serializeError(error, encoder.partialText);
        emit(encoder.fail(error));
        subscriber.complete();
        reportStreamError(checked.onError, error, { partialText: encoder.partialText, sent });
      };
      operate(source, subscriber, {
        next: (event) => {
          let chunks: UIMessageChunk[];
          try {
            chunks = encoder.push(event);
          } catch (error) {
            fail(error);
            return;
          }
          emit(chunks);
        },
        error: fail,
        complete: () => {
          if (!encoder.finished) {
            fail(encoder.incompleteError());
            return;
          }
          subscriber.complete();
        },
      });
    });
}
