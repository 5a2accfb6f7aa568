import { HttpClient } from '@angular/common/http';
import { Component, inject, input } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { catchError, endWith, map, of, scan, startWith, switchMap, type Observable } from 'rxjs';
import { text } from 'tokenflow';
import { fromSSE, RemoteStreamError } from 'tokenflow/client';

/** What the template shows of one answer. */
export interface AnswerState {
  status: 'streaming' | 'done' | 'stopped' | 'error';
  /** The answer so far, kept when it is stopped or fails. */
  text: string;
  /** The hub channel, once the server has started the answer: Stop needs it. */
  channel?: string;
  /** What went wrong, with status 'error'. */
  error?: string;
}

const STARTED: AnswerState = { status: 'streaming', text: '' };

/**
 * Asks the server for an answer (POST /api/ask returns its channel), follows the channel, and folds
 * what happens into states. A Stop, from this tab or another, ends the stream with the hub's
 * `RemoteStreamError` whose reason is 'stopped': that is the 'stopped' state, text kept, not an error.
 */
function answer(http: HttpClient, question: string): Observable<AnswerState> {
  return http.post<{ channel: string }>('/api/ask', { prompt: question }).pipe(
    switchMap(({ channel }) =>
      fromSSE(`/api/streams/${channel}`).pipe(
        text(),
        map((partial): Partial<AnswerState> => ({ text: partial })),
        startWith<Partial<AnswerState>>({ channel }),
        endWith<Partial<AnswerState>>({ status: 'done' }), // fromSSE completes right after `done`
      ),
    ),
    catchError((error: unknown) =>
      of<Partial<AnswerState>>(
        RemoteStreamError.isInstance(error) && error.reason === 'stopped'
          ? { status: 'stopped' }
          : { status: 'error', error: error instanceof Error ? error.message : String(error) },
      ),
    ),
    scan((state, change) => ({ ...state, ...change }), STARTED),
    startWith(STARTED), // a new question clears the previous answer at once
  );
}

@Component({
  selector: 'app-answer',
  template: `
    <section class="answer" [class]="state().status" aria-live="polite">
      <p>{{ state().text }}</p>
      @switch (state().status) {
        @case ('streaming') { <button type="button" (click)="stop()">Stop</button> }
        @case ('done') { <small>Done</small> }
        @case ('stopped') { <small>Stopped</small> }
        @case ('error') { <small role="alert">{{ state().error }}</small> }
      }
    </section>
  `,
})
export class Answer {
  /** The question to answer: each new one switches to a new stream. */
  readonly question = input.required<string>();
  private readonly http = inject(HttpClient);

  // switchMap unsubscribes from the previous answer when a new question comes, which closes its
  // connection; toSignal unsubscribes when the component is destroyed.
  protected readonly state = toSignal(
    toObservable(this.question).pipe(switchMap((question) => answer(this.http, question))),
    { initialValue: STARTED },
  );

  protected stop(): void {
    const { channel } = this.state();
    // The hub ends the answer with reason 'stopped' in every tab that follows it, this one too. If
    // the POST fails, the answer goes on and the button stays: nothing to undo.
    if (channel) this.http.post(`/api/streams/${channel}/stop`, null).subscribe({ error: () => undefined });
  }
}
