/**
 * The useTokenStream test page: one component that shows what the hook returns, driven by
 * test/browser/react.test.ts through `window.harness` (./harness.ts). Plain `createElement`, no
 * JSX, so the repository's own type-check covers this file as it is.
 */
import { Component, StrictMode, createElement as h, useEffect, useLayoutEffect, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { defer, finalize, Subject, type Observable } from 'rxjs';
import { fromSSE, RemoteStreamError, type TokenEvent } from 'tokenflow/client';
import { useTokenStream, type TokenStream, type TokenStreamSource } from 'tokenflow/react';
import type { CommitRecord, Harness, SourceSpec } from './harness.js';

const counts = { subscribed: 0, unsubscribed: 0, factoryCalls: 0, probeEffects: 0 };
const commits: CommitRecord[] = [];
const log: string[] = [];
let subject = new Subject<TokenEvent>();
let root: Root | undefined;
let strict = false;
let source: unknown = null;
/** The spec `source` was made from, as JSON. */
let label = '';

/** Counts and logs the subscriptions to `source$` and their ends. */
function counted(source$: Observable<TokenEvent>, kind: string): Observable<TokenEvent> {
  return defer(() => {
    counts.subscribed++;
    log.push(`subscribe ${kind}`);
    return source$.pipe(
      finalize(() => {
        counts.unsubscribed++;
        log.push(`unsubscribe ${kind}`);
      }),
    );
  });
}

function makeSource(spec: SourceSpec): unknown {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'url':
      return spec.url;
    case 'observable':
      return counted(fromSSE(spec.url), 'observable');
    case 'factory':
      return () => {
        counts.factoryCalls++;
        log.push('call factory');
        return counted(fromSSE(spec.url), 'factory');
      };
    case 'subject':
      subject = new Subject<TokenEvent>();
      return subject;
    case 'bad':
      return spec.value === 'number' ? 42 : spec.value === 'object' ? { url: '/streams/x' } : Promise.resolve('/streams/x');
  }
}

function View({ source, label }: { source: TokenStreamSource; label: string }): ReactNode {
  const stream: TokenStream = useTokenStream(source);
  useLayoutEffect(() => {
    commits.push({ source: label, text: stream.text, status: stream.status });
  });
  return h(
    'div',
    { 'data-testid': 'stream', 'data-status': stream.status, 'data-stop-reason': stream.stopReason ?? '' },
    h('p', { 'data-testid': 'text' }, stream.text),
    h('pre', { 'data-testid': 'metrics' }, JSON.stringify(stream.metrics)),
    h('pre', { 'data-testid': 'tools' }, JSON.stringify(stream.toolCalls)),
    h('p', { 'data-testid': 'error' }, stream.error ? `${stream.error.name}: ${stream.error.message}` : ''),
    h('button', { 'data-testid': 'stop', onClick: stream.stop }, 'Stop'),
  );
}

/** Counts its effect's runs: 2 on mount under StrictMode in development, proof that StrictMode is on. */
function Probe(): null {
  useEffect(() => {
    counts.probeEffects++;
  }, []);
  return null;
}

/** Shows a render error (bad input to the hook) instead of unmounting the page. */
class Boundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown): { error: unknown } {
    return { error };
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    const e = error as { name?: string; field?: string; message?: string };
    return h('p', { 'data-testid': 'render-error', 'data-name': e.name ?? '', 'data-field': e.field ?? '' }, e.message ?? String(error));
  }
}

function render(): void {
  const tree = h(Boundary, null, h(Probe), h(View, { source: source as TokenStreamSource, label }));
  root!.render(strict ? h(StrictMode, null, tree) : tree);
}

/**
 * Resolves once the hook has subscribed to the current Subject. `root.render()` commits, and the
 * hook's effect subscribes, only later (later still on a busy machine): events pushed before that
 * would go to nobody, and the test would wait for text that never comes.
 */
function subscribed(): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (subject.observed) resolve();
      else setTimeout(check, 1);
    };
    check();
  });
}

const harness: Harness = {
  mount(spec, options = {}) {
    root?.unmount();
    root = createRoot(document.getElementById('root')!);
    strict = options.strict ?? false;
    source = makeSource(spec);
    label = JSON.stringify(spec);
    render();
  },
  setSource(spec) {
    source = makeSource(spec);
    label = JSON.stringify(spec);
    render();
  },
  unmount() {
    root?.unmount();
    root = undefined;
  },
  async push(events) {
    await subscribed();
    for (const event of events) subject.next(event);
  },
  async pushEach(events) {
    await subscribed();
    let frames = 0;
    let counting = true;
    const tick = (): void => {
      if (!counting) return;
      frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    for (const event of events) {
      // A task of its own, as each network read is.
      await new Promise<void>((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve();
        channel.port2.postMessage(null);
      });
      subject.next(event);
    }
    // The frame that shows the last events.
    await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
    counting = false;
    return { frames };
  },
  end(how) {
    if (how.kind === 'complete') subject.complete();
    else if (how.kind === 'error') subject.error(new Error(how.message));
    else subject.error(new RemoteStreamError({ type: 'error', name: 'StreamAbortedError', message: 'Stopped.', reason: 'stopped' }, { partialText: how.partialText }));
  },
  counts,
  log,
  commits,
};

window.harness = harness;
document.body.dataset.ready = 'true';
