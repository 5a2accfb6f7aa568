/**
 * tokenflow declares the UI message stream's chunks itself (no dependency on `ai`); here the type
 * checker proves each one is a chunk `ai` accepts, and that `ai`'s `UIMessage[]` is what
 * `fromUIMessages()` takes. An `ai` upgrade that changes a chunk fails this file.
 */
import type { UIMessage, UIMessageChunk as AIChunk } from 'ai';
import type { OperatorFunction } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { fromUIMessages, toUIMessageStream, UIMessageStreamEncoder, type UIMessageChunk, type UIMessageChunkType } from '../../src/ai-sdk/index.js';

type Chunk<T extends UIMessageChunkType> = Extract<UIMessageChunk, { type: T }>;

describe('UI message stream chunk types', () => {
  it('every chunk tokenflow emits is assignable to ai.UIMessageChunk', () => {
    expectTypeOf<UIMessageChunk>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'start'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'start-step'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'finish-step'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'text-start'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'text-delta'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'text-end'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'reasoning-start'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'reasoning-delta'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'reasoning-end'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-input-start'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-input-delta'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-input-available'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-input-error'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-output-available'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'tool-output-error'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'source-url'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'data-tokenflow-citation'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'data-tokenflow-reset'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'message-metadata'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'finish'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'error'>>().toExtend<AIChunk>();
    expectTypeOf<Chunk<'abort'>>().toExtend<AIChunk>();
  });

  it('the operator and the encoder produce those chunks', () => {
    expectTypeOf(toUIMessageStream()).toEqualTypeOf<OperatorFunction<TokenEvent, UIMessageChunk>>();
    expectTypeOf(new UIMessageStreamEncoder().push).returns.toEqualTypeOf<UIMessageChunk[]>();
  });

  it("fromUIMessages takes ai's UIMessage[] as useChat sends them", () => {
    expectTypeOf<UIMessage[]>().toExtend<Parameters<typeof fromUIMessages>[0]>();
  });
});
