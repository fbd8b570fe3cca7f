import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayHoldReference } from '../../../src/stores/open.js';
import { findCredentialReferences } from '../../../src/references/resolve.js';

// openConfiguredStore loads the reference resolver only when mayHoldReference(store config) is true (cold
// start): when it is false, the resolver must have had nothing to do — no reference and no error.
describe('mayHoldReference', () => {
  it('finds the opening anywhere: nested values, arrays, keys, escaped references', () => {
    expect(mayHoldReference({ a: { b: ['x', 'p=${credential:db}'] } })).toBe(true);
    expect(mayHoldReference({ '${credential:k}': 1 })).toBe(true);
    expect(mayHoldReference({ a: '\\${credential:literal}' })).toBe(true);
    expect(mayHoldReference({ path: '.credstash/keystore.json', n: 3, t: true, d: new Date(0), e: [] })).toBe(false);
    expect(mayHoldReference(undefined)).toBe(false);
  });

  it('is true whenever the resolver would find a reference or reject one (property)', () => {
    const piece = fc.constantFrom('${credential:', '${', 'credential:', '}', '\\', '?', 'env=prod', '.field', 'a', ' ', '%7D');
    const str = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.boolean(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(str, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(tree, (t) => {
        let found: number;
        try {
          found = findCredentialReferences(t).length;
        } catch {
          found = -1; // a malformed reference: the resolver would have thrown
        }
        if (found !== 0) expect(mayHoldReference(t)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
