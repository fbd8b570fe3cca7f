/** Definitions as SSM tags: metadata keys come back as the same own keys, whatever their name. */
import { describe, expect, it } from 'vitest';
import { definitionTags, tagsToDefinition } from '../../../../src/stores/ssm/ssm-store.js';

describe('SSM definition tags', () => {
  it.each(['__proto__', 'constructor', 'prototype', 'team'])('a metadata key %s round-trips as an own key of metadata', (key) => {
    const def = { id: 'db', name: 'db', metadata: Object.fromEntries([[key, 'v1']]) };
    const back = tagsToDefinition('db', definitionTags('db', def));
    expect(back?.metadata === undefined ? [] : Object.entries(back.metadata)).toEqual([[key, 'v1']]);
    expect(Object.getPrototypeOf(back?.metadata)).toBe(Object.prototype);
  });
});
