// `node --import ./test/helpers/record-modules.mjs ...`: appends the URL of every module the process loads
// to $CREDSTASH_MODULE_LOG (one per line). Used to prove that `credstash get` on the local tier loads no
// AWS SDK code (test/integration/cli/cold-start.int.test.ts).
import { register } from 'node:module';

register('./record-modules-hooks.mjs', import.meta.url);
