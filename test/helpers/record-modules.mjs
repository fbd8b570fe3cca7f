// `node --import ./test/helpers/record-modules.mjs ...`: appends the URL of every module the process loads
// to $CREDSTASH_MODULE_LOG (one per line): each ES module as it is resolved (a module.register hook), and,
// when the process exits, each CommonJS file in require's cache (bin/credstash, dist/cli/fast.cjs). Used to
// prove what `credstash get` loads and what it does not (test/integration/cli/cold-start.int.test.ts).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./record-modules-hooks.mjs', import.meta.url);

const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const log = process.env.CREDSTASH_MODULE_LOG;
  const files = Object.keys(cache).filter((f) => f.startsWith('/'));
  if (log && files.length > 0) appendFileSync(log, files.map((f) => `${pathToFileURL(f).href}\n`).join(''));
});
