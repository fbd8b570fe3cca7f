import { runStoreContract } from '../../contract/credential-store.contract.js';
import { MemoryStore } from '../../fixtures/memory-store.js';

// The contract against the in-memory store checks BaseStore's generic half (validation, autoversion loop,
// required, listing, getAll) independently of any backend.
runStoreContract('memory (BaseStore)', async () => new MemoryStore(), { context: true, maxValueBytes: 64 * 1024 });
