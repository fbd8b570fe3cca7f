import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const log = process.env.CREDSTASH_MODULE_LOG;
  if (log && result.url.startsWith('file:')) appendFileSync(log, `${result.url}\n`);
  return result;
}
