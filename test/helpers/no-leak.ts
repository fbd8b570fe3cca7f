import { expect } from 'vitest';

/** A value that must never appear anywhere but where a user asked to print it. */
export const CANARY = 'CANARY-s3cr3t-7f1d9a0c-do-not-print';

/** Every string an error or output can show: message, stack, the whole cause chain, its JSON form. */
export function leakSurface(x: unknown, seen = new Set<unknown>()): string[] {
  if (x === null || x === undefined || seen.has(x)) return [];
  seen.add(x);
  if (typeof x === 'string') return [x];
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return [Buffer.from(x).toString('utf8'), Buffer.from(x).toString('hex'), Buffer.from(x).toString('base64')];
  if (typeof x !== 'object') return [String(x)];
  const out: string[] = [];
  if (x instanceof Error) {
    out.push(x.message, x.stack ?? '', String(x));
    out.push(...leakSurface((x as Error & { cause?: unknown }).cause, seen));
  }
  try {
    out.push(JSON.stringify(x) ?? '');
  } catch {
    // circular: the walk below still covers it
  }
  for (const v of Object.values(x as Record<string, unknown>)) out.push(...leakSurface(v, seen));
  return out;
}

/**
 * Assert that none of the secrets (values, data keys as hex/base64, Fernet keys) appears in an error
 * (message, stack, cause chain, JSON) or in captured output.
 */
export function expectNoLeak(subject: unknown, ...secrets: Array<string | Uint8Array | undefined>): void {
  const surface = leakSurface(subject).join('\n');
  for (const s of secrets) {
    if (s === undefined) continue;
    const forms = typeof s === 'string' ? [s] : [Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64')];
    for (const f of forms) {
      if (f.length === 0) continue;
      expect(surface.includes(f), `secret leaked: ${f.slice(0, 4)}…`).toBe(false);
    }
  }
}

/** Await a promise that must reject; return the error so that callers can check code and leaks. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & { code?: string; [k: string]: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; [k: string]: unknown };
  }
  throw new Error('expected the promise to reject, but it resolved');
}
