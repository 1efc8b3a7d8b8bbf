/**
 * The same compliance checks for every registered component: a type name, a one-line summary,
 * an example that its own schema accepts, a strict schema (unknown keys are errors), and
 * descriptions on the fields users set.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { stageSpecs } from '../../src/stages/index.js';
import { sinkSpecs } from '../../src/sinks/index.js';
import { sourceSpecs } from '../../src/sources/index.js';

const all = [
  ...sourceSpecs.map((s) => ['source', s] as const),
  ...stageSpecs.map((s) => ['stage', s] as const),
  ...sinkSpecs.map((s) => ['sink', s] as const),
];

function objectShape(schema: z.ZodTypeAny): Record<string, z.ZodTypeAny> {
  let s = schema;
  while (s instanceof z.ZodEffects) s = s.innerType();
  assert.ok(s instanceof z.ZodObject, 'schema is an object');
  return s.shape as Record<string, z.ZodTypeAny>;
}

describe('component compliance', () => {
  it('types are unique per kind', () => {
    for (const kind of ['source', 'stage', 'sink']) {
      const types = all.filter(([k]) => k === kind).map(([, s]) => s.type);
      assert.equal(new Set(types).size, types.length, `${kind} types: ${types.join(', ')}`);
    }
  });
  for (const [kind, spec] of all) {
    describe(`${kind} ${spec.type}`, () => {
      it('has a one-line summary', () => {
        assert.ok(spec.summary.length > 10 && !spec.summary.includes('\n'));
      });
      it('its example validates against its schema', () => {
        const r = spec.schema.safeParse(spec.example);
        assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
        assert.equal((spec.example as { type: string }).type, spec.type);
      });
      it('rejects unknown keys', () => {
        const r = spec.schema.safeParse({ ...spec.example, no_such_option: 1 });
        assert.equal(r.success, false);
        assert.ok(!r.success && r.error.issues.some((i) => i.code === 'unrecognized_keys'));
      });
      it('describes every field but `type`', () => {
        const undocumented = Object.entries(objectShape(spec.schema))
          .filter(([k, f]) => k !== 'type' && !describedSomewhere(f))
          .map(([k]) => k);
        assert.deepEqual(undocumented, []);
      });
    });
  }
});

function describedSomewhere(f: z.ZodTypeAny): boolean {
  let cur: z.ZodTypeAny | undefined = f;
  while (cur) {
    if (cur.description) return true;
    cur =
      cur instanceof z.ZodDefault
        ? cur._def.innerType
        : cur instanceof z.ZodOptional || cur instanceof z.ZodNullable
          ? cur.unwrap()
          : cur instanceof z.ZodEffects
            ? cur.innerType()
            : cur instanceof z.ZodPipeline
              ? cur._def.in
              : undefined;
  }
  return false;
}
