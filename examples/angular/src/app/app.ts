import { Component, signal } from '@angular/core';
import { Answer } from './answer';

@Component({
  selector: 'app-root',
  imports: [Answer],
  template: `
    <h1>Ask</h1>
    <form (submit)="$event.preventDefault(); ask(prompt.value)">
      <input #prompt name="prompt" aria-label="Question" placeholder="Ask something" autocomplete="off" />
      <button type="submit">Ask</button>
      @if (question()) {
        <button type="button" (click)="question.set('')">Clear</button>
      }
    </form>
    @if (question()) {
      <app-answer [question]="question()" />
    }
  `,
})
export class App {
  /** The question asked last; '' shows no answer (and destroys the one shown). */
  protected readonly question = signal('');

  protected ask(question: string): void {
    if (question.trim() !== '') this.question.set(question.trim());
  }
}
