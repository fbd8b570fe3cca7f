/**
 * Leak walker for the adversarial suite: find a secret in files, captured output and errors, and check
 * the modes of everything a command created. Secrets are searched as UTF-8, hex and base64 (a data key or
 * a value may be written in any of those forms).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { leakSurface } from '../../helpers/no-leak.js';

export type Secret = string | Uint8Array;

/** Every form a secret may take on disk or in output. */
export function secretForms(s: Secret): string[] {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  const forms = [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')];
  if (typeof s === 'string') forms.unshift(s);
  // a base64 form of a short secret is too short to be a meaningful needle
  return [...new Set(forms)].filter((f) => f.length >= 8);
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

/** Assert that no secret appears anywhere in an error (message, stack, cause chain, JSON) or text. */
export function expectNothingLeaks(subject: unknown, secrets: Secret[]): void {
  const surface = leakSurface(subject).join('\n');
  for (const s of secrets) {
    for (const f of secretForms(s)) expect(surface.includes(f), `secret leaked (${f.slice(0, 4)}…)`).toBe(false);
  }
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
