/**
 * Races whose outcome must not depend on how fast each racer starts: `count` runs start at once, and the one
 * that gets past the point where only one may (a rotation's claim) waits on `hold` before it finishes.
 */

/**
 * Start `count` runs; `hold` resolves once all but one of them have settled, so none of the others can find
 * the held one already finished, however late it starts on a loaded machine. After `maxMs` it resolves
 * anyway: two runs that both got past the claim then end (and fail the test) instead of waiting for each other.
 */
export function heldUntilOthersAnswer<T>(count: number, start: (hold: Promise<void>) => Promise<T>, maxMs = 30_000): Array<Promise<T>> {
  let release = (): void => undefined;
  const hold = new Promise<void>((r) => {
    release = r;
  });
  const timer = setTimeout(() => release(), maxMs);
  let settled = 0;
  const done = (): void => {
    if (++settled >= count - 1) {
      clearTimeout(timer);
      release();
    }
  };
  return Array.from({ length: count }, () => {
    const run = start(hold);
    run.then(done, done);
    return run;
  });
}
