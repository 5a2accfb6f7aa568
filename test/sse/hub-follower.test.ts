/**
 * A channel's followers in one process (`FollowerGroup.deliver`): the batch that ends the channel
 * reaches every follower before any of them is ended, so the last of thousands of followers does
 * not get the answer's final tokens a whole pass of `end()`s late (issue 18, item 4).
 */
import { describe, expect, it } from 'vitest';
import { InMemoryChannelLog, type ChannelLogEntry } from '../../src/sse/channel-log.js';
import { Follower, FollowerGroup } from '../../src/sse/hub-follower.js';
import { Sink, type Batch } from '../../src/sse/sinks.js';

/** A sink that records what happens to it, in one journal shared by every follower. */
class JournalSink extends Sink {
  readonly bound = Infinity;
  readonly resumes = true;
  constructor(
    private readonly name: string,
    private readonly journal: string[],
  ) {
    super();
  }
  get buffered(): number {
    return 0;
  }
  fail(): void {
    this.journal.push(`${this.name} fail`);
    this.close();
  }
  heartbeat(): void {}
  protected put(batch: Batch): boolean {
    this.journal.push(`${this.name} write ${batch.entries.map((e) => e.id).join(',')}`);
    return true;
  }
  protected release(): void {
    this.journal.push(`${this.name} end`);
  }
  protected cut(): void {
    this.journal.push(`${this.name} cut`);
  }
}

const entry = (id: number, type: string): ChannelLogEntry => ({ id, type, data: JSON.stringify({ type }) });

/** A group of `count` live followers of an empty channel, and the journal of their sinks. */
async function liveGroup(count: number): Promise<{ group: FollowerGroup; journal: string[]; followers: Follower[] }> {
  const log = new InMemoryChannelLog();
  await log.create('c', {});
  const journal: string[] = [];
  const group = new FollowerGroup();
  const followers: Follower[] = [];
  for (let i = 0; i < count; i++) {
    const sink = new JournalSink(`f${i}`, journal);
    const follower = new Follower('c', sink, -1, () => journal.push(`f${i} dropped`));
    sink.onClose = () => group.followers.delete(follower);
    await follower.catchUp(log);
    group.followers.add(follower);
    followers.push(follower);
  }
  return { group, journal, followers };
}

describe('FollowerGroup.deliver', () => {
  it('writes the terminal batch to every follower before it ends any of them', async () => {
    const { group, journal, followers } = await liveGroup(5);
    group.deliver([entry(0, 'token'), entry(1, 'token')]);
    group.deliver([entry(2, 'token'), entry(3, 'usage'), entry(4, 'done')]);

    const lastWrites = journal.filter((line) => line.endsWith('write 2,3,4'));
    const ends = journal.filter((line) => line.endsWith(' end'));
    expect(lastWrites).toHaveLength(5);
    expect(ends).toEqual(['f0 end', 'f1 end', 'f2 end', 'f3 end', 'f4 end']);
    // Every write of the terminal batch comes before the first end.
    expect(Math.max(...lastWrites.map((line) => journal.indexOf(line)))).toBeLessThan(journal.indexOf('f0 end'));
    // Every follower holds the terminal id and is gone from the group.
    expect(followers.map((f) => [f.lastId, f.closed])).toEqual(followers.map(() => [4, true]));
    expect(group.followers.size).toBe(0);
  });

  it('ends nobody on a batch without a terminal entry', async () => {
    const { group, journal, followers } = await liveGroup(3);
    group.deliver([entry(0, 'start'), entry(1, 'token')]);
    expect(journal).toEqual(['f0 write 0,1', 'f1 write 0,1', 'f2 write 0,1']);
    expect(followers.every((f) => !f.closed)).toBe(true);
  });

  it('ends a follower whose batch ends the channel on its own path (a replay) at once', async () => {
    // A follower that joins after the end reads the whole answer from the log and ends there.
    const log = new InMemoryChannelLog();
    await log.create('c', {});
    await log.append('c', [entry(0, 'token'), entry(1, 'done')]);
    const journal: string[] = [];
    const follower = new Follower('c', new JournalSink('late', journal), -1, () => journal.push('dropped'));
    await follower.catchUp(log);
    expect(journal).toEqual(['late write 0,1', 'late end']);
  });
});
