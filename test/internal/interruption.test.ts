/**
 * Interruption: what a `Promise.race` against a long-lived promise does (an operation's outcome,
 * or the interruption's), without keeping every operation ever raced.
 */
import { describe, expect, it } from 'vitest';
import { Interruption } from '../../src/internal/interruption.js';
import { garbageCollector } from '../helpers/handles.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `value`, no longer referenced here, is still reachable after a full collection. */
async function stillReachable(make: () => Promise<object>): Promise<boolean> {
  const gc = garbageCollector();
  if (!gc) throw new Error('no garbage collector available (v8.setFlagsFromString(--expose-gc) failed)');
  const ref = new WeakRef(await make());
  // A WeakRef keeps its target until the end of the job that created it.
  for (let i = 0; i < 3; i++) {
    await turn();
    gc();
  }
  return ref.deref() !== undefined;
}

describe('Interruption', () => {
  it("settles with the operation's value or error while not interrupted", async () => {
    const i = new Interruption<undefined>();
    await expect(i.race(Promise.resolve(42))).resolves.toBe(42);
    await expect(i.race(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(i.interrupted).toBe(false);
  });

  it('rejects every waiting operation, and every later one, with the interruption error', async () => {
    const i = new Interruption();
    const pending = [i.race(new Promise(() => {})), i.race(new Promise(() => {}))];
    const closed = new Error('closed');
    i.reject(closed);
    for (const p of pending) await expect(p).rejects.toBe(closed);
    await expect(i.race(Promise.resolve(1))).rejects.toBe(closed);
    expect(i.interrupted).toBe(true);
  });

  it('resolves waiting operations with the interruption value, and only the first interruption counts', async () => {
    const i = new Interruption<undefined>();
    const pending = i.race(new Promise<string>(() => {}));
    i.resolve(undefined);
    i.reject(new Error('later'));
    await expect(pending).resolves.toBeUndefined();
    await expect(i.race(Promise.resolve('x'))).resolves.toBeUndefined();
  });

  it('interrupts exactly the operations still waiting, whatever order the others settled in', async () => {
    const i = new Interruption();
    const settle: Array<(value: number) => void> = [];
    const raced = Array.from({ length: 40 }, (_, k) => i.race(new Promise<number>((resolve) => (settle[k] = resolve))));
    // Settle the even ones out of order: the first, the last, and from the middle out.
    const order = [0, 38, 20, 18, 22, 2, 36, 10, 30, 4, 34, 6, 32, 8, 28, 12, 26, 14, 24, 16];
    for (const k of order) settle[k]!(k);
    await new Promise<void>((resolve) => setImmediate(resolve));
    i.reject(new Error('closed'));
    const outcomes = await Promise.allSettled(raced);
    outcomes.forEach((outcome, k) => {
      if (k % 2 === 0) expect(outcome).toEqual({ status: 'fulfilled', value: k });
      else expect(outcome).toMatchObject({ status: 'rejected', reason: { message: 'closed' } });
    });
    // Those settled after the interruption change nothing.
    settle[1]!(1);
    expect(await raced[1]!.catch((e: Error) => e.message)).toBe('closed');
  });

  it('an operation that fails after the interruption leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const i = new Interruption();
      let fail!: (error: Error) => void;
      const raced = i.race(new Promise((_, reject) => (fail = reject)));
      i.reject(new Error('closed'));
      await expect(raced).rejects.toThrow('closed');
      fail(new Error('late failure'));
      await turn();
      await turn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('keeps nothing of a settled operation while it waits to be interrupted (Promise.race against a pending promise does)', async () => {
    // The check itself: a race against a promise that stays pending keeps each value it settled with.
    const forever = new Promise<never>(() => {});
    expect(await stillReachable(() => Promise.race([Promise.resolve({ answer: 'kept' }), forever]))).toBe(true);

    const i = new Interruption();
    expect(await stillReachable(() => i.race(Promise.resolve({ answer: 'released' })))).toBe(false);
    expect(i.interrupted).toBe(false);
  });
});
