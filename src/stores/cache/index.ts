export { CachedStore, withCache, DEFAULT_CACHE_MAX_AGE_SECONDS } from './cached-store.js';
export type { CacheOptions, CachedGetOptions } from './cached-store.js';
