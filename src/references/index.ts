export { parseReferences, isCredentialReference, containsCredentialReference, extractCredentialId } from './parse.js';
export type { ParsedReference, Segment } from './parse.js';
export { resolveCredentialReferences, findCredentialReferences, getCredentialsForConfig } from './resolve.js';
export type { ResolveOptions, FoundReference } from './resolve.js';
