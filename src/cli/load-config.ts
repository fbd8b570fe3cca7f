/**
 * What a command loads, on first use, to read the configuration and open its store: one dynamic import
 * (one chunk of the CLI bundle) for both, so that `credstash --help` pays for neither and a command pays
 * for one file load, not two.
 */
export { loadConfig } from '../config/merge.js';
export { openConfiguredStore } from '../stores/open.js';
