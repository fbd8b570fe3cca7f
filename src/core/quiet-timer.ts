/**
 * A timer that keeps nothing alive (as an unref'd `setTimeout`: a process with nothing else to wait for
 * exits before it fires) and does not use Node's timers module.
 *
 * Why: on a cold start each of Node's built-in functions is compiled on its first call. `setTimeout`,
 * `setImmediate` and `socket.setTimeout` each pull in a share of Node's timers code (Timeout, the timer
 * lists and their priority queue, the immediate queue): together about 3M instructions, some 1 ms, of a
 * DynamoDB `credstash get` on Node 20. `Atomics.waitAsync`'s timeout is V8's own: a delayed task, which Node's
 * platform runs on a libuv timer it has unref'd. A wait on a cell nothing else sees times out after `ms`;
 * cancelling notifies the cell, which settles the wait as "ok" instead. Where `Atomics.waitAsync` or
 * `SharedArrayBuffer` is missing, an unref'd `setTimeout`.
 */

/** Cancels the timer; a no-op once it has fired or been cancelled. */
export type CancelTimer = () => void;

type WaitAsync = (cell: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };

const waitAsync: WaitAsync | undefined =
  typeof SharedArrayBuffer === 'function' && typeof (Atomics as { waitAsync?: unknown }).waitAsync === 'function'
    ? ((Atomics as unknown as { waitAsync: WaitAsync }).waitAsync as WaitAsync)
    : undefined;

/**
 * Run `fire` once, `ms` milliseconds from now (at least 1), unless cancelled first. Keeps nothing alive.
 * `via: 'timers'` takes Node's timers instead (for tests of that path; also where waitAsync is missing).
 */
export function quietTimer(ms: number, fire: () => void, via: 'v8' | 'timers' = waitAsync === undefined ? 'timers' : 'v8'): CancelTimer {
  // A wait of 0 ms settles at once, synchronously: never ask for less than 1.
  const delay = ms >= 1 ? ms : 1;
  const wait = via === 'v8' && waitAsync !== undefined ? startWait(waitAsync, delay) : undefined;
  if (wait === undefined) {
    if (delay === Infinity) return () => {};
    const t = setTimeout(fire, delay);
    t.unref();
    return () => clearTimeout(t);
  }
  let live = true;
  void wait.settled.then((outcome) => {
    if (live && outcome === 'timed-out') {
      live = false;
      fire();
    }
  });
  return () => {
    if (!live) return;
    live = false;
    Atomics.notify(wait.cell, 0);
  };
}

/** A wait on a cell of its own (undefined if it settled at once, which a wait of 1 ms or more does not). */
function startWait(wait: WaitAsync, delay: number): { cell: Int32Array; settled: Promise<string> } | undefined {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const result = wait.call(Atomics, cell, 0, 0, delay);
  return result.async && typeof result.value !== 'string' ? { cell, settled: result.value } : undefined;
}
