/**
 * Tools on their own: the JSON Schema a provider gets (plain, zod's own, a given `jsonSchema`), the
 * input check before `execute` (Standard Schema, and the built-in check of a plain JSON Schema), and
 * what is refused, naming the field.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { prepareTools, tool } from '../../src/agent/tools.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { invalidArgument } from '../helpers/mock.js';

const PATH = 'options.tools';

describe('prepareTools', () => {
  it('sends a plain JSON Schema as it is, with the description', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const tools = prepareTools({ weather: { description: 'Weather.', inputSchema: parameters, execute: () => 1 } }, PATH);
    expect(tools.get('weather')!.definition).toEqual({ name: 'weather', description: 'Weather.', parameters });
  });

  it("sends a zod schema's own draft-07 JSON Schema, without $schema", () => {
    const tools = prepareTools({ weather: tool({ inputSchema: z.object({ city: z.string(), unit: z.enum(['c', 'f']).optional() }) }) }, PATH);
    expect(tools.get('weather')!.definition.parameters).toEqual({
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city'],
    });
  });

  it('a Standard Schema without ~standard.jsonSchema (valibot) needs jsonSchema, and validates with its own rules', async () => {
    const schema = v.object({ city: v.pipe(v.string(), v.minLength(2)) });
    const error = invalidArgument(() => prepareTools({ weather: { inputSchema: schema } }, PATH));
    expect(error.field).toBe(`${PATH}.weather.jsonSchema`);
    expect(error.message).toContain('pass the JSON Schema to send as options.tools.weather.jsonSchema');

    const jsonSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const tools = prepareTools({ weather: { inputSchema: schema, jsonSchema } }, PATH);
    const prepared = tools.get('weather')!;
    expect(prepared.definition.parameters).toEqual(jsonSchema);
    await expect(prepared.validate({ city: 'Oslo' })).resolves.toEqual({ ok: true, value: { city: 'Oslo' } });
    const bad = await prepared.validate({ city: 'O' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^city: /);
  });

  it('validates with zod (async refinements too) and reports every issue with its path', async () => {
    const schema = z.object({
      city: z.string().refine(async (c) => c !== 'Atlantis', 'no such city'),
      days: z.array(z.number().int()).max(3),
    });
    const prepared = prepareTools({ forecast: tool({ inputSchema: schema }) }, PATH).get('forecast')!;
    await expect(prepared.validate({ city: 'Oslo', days: [1, 2] })).resolves.toEqual({ ok: true, value: { city: 'Oslo', days: [1, 2] } });
    const result = await prepared.validate({ city: 'Atlantis', days: [1, 2.5] });
    expect(result.ok).toBe(false);
    const issues = (result.ok ? '' : result.message).split('; ').sort();
    expect(issues).toEqual(['city: no such city', 'days.1: Invalid input: expected int, received number']);
  });

  it('checks a plain JSON Schema: type, required, properties, enum, const, items, additionalProperties', async () => {
    const parameters = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        unit: { enum: ['c', 'f'] },
        days: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' } },
        point: { type: 'object', properties: { lat: { type: 'number' } }, required: ['lat'] },
        kind: { const: 'weather' },
      },
      required: ['city'],
      additionalProperties: false,
    };
    const prepared = prepareTools({ weather: { inputSchema: parameters } }, PATH).get('weather')!;
    await expect(prepared.validate({ city: 'Oslo', unit: 'c', days: 2, tags: ['a'], point: { lat: 1.5 }, kind: 'weather' })).resolves.toMatchObject({ ok: true });
    const result = await prepared.validate({ unit: 'k', days: 1.5, tags: ['a', 3], point: {}, kind: 'x', extra: true });
    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.message;
    for (const issue of [
      'city: required',
      'unit: expected one of "c", "f"',
      'days: expected integer, got number',
      'tags[1]: expected string, got integer',
      'point.lat: required',
      'kind: expected "weather"',
      'extra: not an allowed property',
    ]) {
      expect(message).toContain(issue);
    }
    await expect(prepared.validate('Oslo')).resolves.toEqual({ ok: false, message: 'input: expected object, got string' });
  });

  it.each([
    ['tools not an object', [], PATH],
    ['a tool that is not an object', { weather: 'weather' }, `${PATH}.weather`],
    ['a bad tool name', { 'get weather': { inputSchema: { type: 'object' } } }, `${PATH}.get weather`],
    ['a tool without inputSchema', { weather: { execute: () => 1 } }, `${PATH}.weather.inputSchema`],
    ['a string schema', { weather: { inputSchema: 'city' } }, `${PATH}.weather.inputSchema`],
    ['a JSON Schema of a string', { weather: { inputSchema: { type: 'string' } } }, `${PATH}.weather.inputSchema`],
    ['a JSON Schema without type', { weather: { inputSchema: { properties: {} } } }, `${PATH}.weather.inputSchema`],
    ['bad properties', { weather: { inputSchema: { type: 'object', properties: [] } } }, `${PATH}.weather.inputSchema.properties`],
    ['bad required', { weather: { inputSchema: { type: 'object', required: 'city' } } }, `${PATH}.weather.inputSchema.required`],
    ['a zod schema of a non-object', { weather: { inputSchema: z.string() } }, `${PATH}.weather.inputSchema`],
    ['an object with a broken ~standard', { weather: { inputSchema: { '~standard': { version: 1 } } } }, `${PATH}.weather.inputSchema`],
    ['execute not a function', { weather: { inputSchema: { type: 'object' }, execute: 'run' } }, `${PATH}.weather.execute`],
    ['needsApproval not a boolean', { weather: { inputSchema: { type: 'object' }, needsApproval: 'yes' } }, `${PATH}.weather.needsApproval`],
    ['an unknown tool field', { weather: { inputSchema: { type: 'object' }, parameters: {} } }, `${PATH}.weather.parameters`],
  ])('refuses %s', (_name, tools, field) => {
    const error = invalidArgument(() => prepareTools(tools, PATH));
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(error.field).toBe(field);
  });

  it('tool() returns its argument', () => {
    const definition = { inputSchema: { type: 'object' } };
    expect(tool(definition)).toBe(definition);
  });
});
