/**
 * SIGINT, SIGTERM and SIGHUP in the CLI. Node's default action for them ends the process at once, even in the
 * middle of synchronous code: between creating an atomic write's temp file and renaming it (src/core/
 * atomic-file.ts), which left a 0600 file holding a whole plaintext export or a Fernet key. Once
 * holdTerminationSignals() has run, a signal is handled by a listener instead, which makes the process die of
 * that same signal; a listener runs only between two pieces of synchronous code, so a write that had begun
 * completes (or cleans up) first. main() calls it for the commands that rewrite credstash.toml (init,
 * rotate-key, setup), writeSecretFile for `export -o` and `render -o`. Never for `exec`, which relays these
 * signals to its child.
 */

const TERMINATING: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let holding = false;

/**
 * From now on (once per process), die of SIGINT/SIGTERM/SIGHUP as the default action would, but only once
 * the synchronous code running when it arrived has finished. The listeners are not removed until one fires:
 * a signal that arrived during a write is delivered on a later turn of the event loop and must find them.
 */
export function holdTerminationSignals(): void {
  if (holding) return;
  holding = true;
  const die = (sig: NodeJS.Signals): void => {
    for (const s of TERMINATING) process.off(s, die);
    // No listener left: the signal's default action (termination) applies again.
    process.kill(process.pid, sig);
  };
  for (const s of TERMINATING) process.on(s, die);
}

/**
 * Node's signal watchers do not keep the event loop alive, so a process that finishes right after a write
 * could exit before a signal received during the write is delivered. Awaiting this lets the loop run its
 * poll phase once (the second setImmediate runs in the next iteration, after that iteration's poll), where
 * such a signal reaches its listener.
 */
export function signalCheckpoint(): Promise<void> {
  return new Promise((done) => setImmediate(() => setImmediate(done)));
}
