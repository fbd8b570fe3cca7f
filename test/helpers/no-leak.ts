/**
 * The one leak checker: find a secret (a value, a data key, a Fernet key) in an error, captured output or files,
 * and check the modes of everything a command created. A secret is searched as given and, when it is at least
 * 8 characters long in that form, as the hex, base64 and base64url of its bytes (a value or a key may be
 * written in any of those forms).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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

export type Secret = string | Uint8Array;

/** Every form a secret may take on disk or in output; encoded forms shorter than 8 characters are too short to be a needle. */
export function secretForms(s: Secret): string[] {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  const encoded = [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')].filter((f) => f.length >= 8);
  return [...new Set([...(typeof s === 'string' && s.length > 0 ? [s] : []), ...encoded])];
}

/**
 * Assert that none of the secrets appears in an error (message, stack, cause chain, JSON) or in captured
 * output. Secrets may be given one by one or as arrays; undefined ones are skipped.
 */
export function expectNoLeak(subject: unknown, ...secrets: Array<Secret | readonly Secret[] | undefined>): void {
  const surface = leakSurface(subject).join('\n');
  for (const s of secrets.flat()) {
    if (s === undefined) continue;
    for (const f of secretForms(s)) expect(surface.includes(f), `secret leaked: ${f.slice(0, 4)}…`).toBe(false);
  }
}

/** Run a function that must throw; return the error so that callers can check code and leaks. */
export function caught(fn: () => unknown): Error & { code?: string; [k: string]: unknown } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string; [k: string]: unknown };
  }
  throw new Error('expected a throw, but the function returned');
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

/** Every regular file and folder under `root`, depth first (symlinks are not followed). */
export function walk(root: string): Array<{ path: string; kind: 'file' | 'dir'; mode: number }> {
  const out: Array<{ path: string; kind: 'file' | 'dir'; mode: number }> = [];
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      out.push({ path: p, kind: 'dir', mode: st.mode & 0o777 });
      for (const e of readdirSync(p)) visit(join(p, e));
    } else if (st.isFile()) out.push({ path: p, kind: 'file', mode: st.mode & 0o777 });
  };
  visit(root);
  return out;
}

/**
 * Files under `root` (except those in `allow`, compared as paths relative to root) whose bytes contain a
 * secret in any of its forms. The store itself is allowed only because it holds ciphertext; tests scan it
 * separately for plaintext.
 */
export function filesContaining(root: string, secrets: Secret[], allow: string[] = []): string[] {
  const needles = secrets.flatMap(secretForms);
  const hits: string[] = [];
  for (const f of walk(root)) {
    if (f.kind !== 'file') continue;
    const rel = relative(root, f.path);
    if (allow.includes(rel)) continue;
    const text = readFileSync(f.path).toString('latin1');
    const utf8 = readFileSync(f.path).toString('utf8');
    if (needles.some((n) => text.includes(n) || utf8.includes(n))) hits.push(rel);
  }
  return hits;
}

export function expectNoSecretInFiles(root: string, secrets: Secret[], allow: string[] = []): void {
  expect(filesContaining(root, secrets, allow), 'a secret was written to a file other than the store').toEqual([]);
}

/** Plaintext must not appear in the store either: the store holds only ciphertext. */
export function expectStoreHoldsNoPlaintext(path: string, secrets: string[]): void {
  const text = readFileSync(path).toString('utf8');
  for (const s of secrets) expect(text.includes(s), 'plaintext found in the store file').toBe(false);
}

/** Files 0600 and folders 0700 for everything under `root` that credstash created (given as relative paths). */
export function expectPrivateModes(root: string, only?: (rel: string) => boolean): void {
  const bad = walk(root)
    .filter((f) => f.path !== root)
    .filter((f) => only === undefined || only(relative(root, f.path)))
    .filter((f) => (f.kind === 'file' ? f.mode !== 0o600 : f.mode !== 0o700))
    .map((f) => `${relative(root, f.path)} ${f.kind} 0${f.mode.toString(8)}`);
  expect(bad, 'files must be 0600 and folders 0700').toEqual([]);
}

/**
 * Capture everything written to stdout/stderr and every console call while `fn` runs in-process (never
 * muted: a leak must be seen). Returns the captured text beside fn's result or error.
 */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ out: string; result?: T; error?: unknown }> {
  const chunks: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const origConsole = methods.map((m) => console[m]);
  const grab = (c: unknown): void => {
    chunks.push(typeof c === 'string' ? c : Buffer.isBuffer(c) ? c.toString('utf8') : String(c));
  };
  process.stdout.write = ((c: unknown, ...rest: unknown[]) => {
    grab(c);
    return origOut(c as string, ...(rest as []));
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: unknown, ...rest: unknown[]) => {
    grab(c);
    return origErr(c as string, ...(rest as []));
  }) as typeof process.stderr.write;
  for (const m of methods) {
    const orig = console[m];
    console[m] = (...args: unknown[]) => {
      grab(args.map((a) => (typeof a === 'string' ? a : leakSurface(a).join(' '))).join(' '));
      orig.apply(console, args as []);
    };
  }
  try {
    const result = await fn();
    return { out: chunks.join(''), result };
  } catch (error) {
    return { out: chunks.join(''), error };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    methods.forEach((m, i) => {
      console[m] = origConsole[i] as (typeof console)[typeof m];
    });
  }
}
