/**
 * A scheduled-rotation Lambda (docs/rotation.md "Scheduled rotation (Lambda)"): deployed with credstash.toml
 * beside it (CREDSTASH_CONFIG=./credstash.toml) and invoked by a schedule (EventBridge `rate(1 day)`), it
 * rotates every credential whose policy says it is due and returns a summary that holds no value. Run by
 * test/integration/rotation/lambda-handler.int.test.ts.
 */
import { createRotationHandler } from 'credstash-ts';

export const handler = createRotationHandler();
