#!/usr/bin/env node
// Lifecycle request counts on SSM and Vault (BENCHMARKS.md): the requests each operation sends, counted where
// they arrive — SSM at aws-sdk-client-mock in front of the in-memory SSM model (pages of 50, SSM's largest
// for GetParameterHistory and DescribeParameters), Vault at the KV v2 fixture's HTTP server. Counts, not
// latency: neither is a real service. Operations: get, get --label, label move, unlabel, history of a name
// with 100 versions (Vault keeps its default max_versions, 10, of them; the count is the same), check
// --expiring over 100 names (Vault has no bulk metadata read: one LIST, then one metadata read per secret),
// put with an expiry. Checked: get sends exactly what it sent before the lifecycle (SSM one GetParameter, Vault
// one read of the version), get --label at most one request more than get (the label, then the usual get).
// Rendered into BENCHMARKS.md ("Version lifecycle") by run.mjs.
// Prints one JSON object and writes bench/results/lifecycle-requests.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { SSMStore } = await importTs('src/stores/ssm/index.ts');
const { VaultStore } = await importTs('src/stores/vault/index.ts');
const { FakeSsm } = await importTs('test/unit/stores/ssm/fake-ssm.ts');
const { startVaultServer } = await importTs('test/fixtures/vault-server.ts');

/** Run `fn`, return the requests it sent as { total, byOperation }. */
async function counted(count, fn) {
  const before = count();
  await fn();
  const after = count();
  const byOperation = {};
  for (const op of after.slice(before.length)) byOperation[op] = (byOperation[op] ?? 0) + 1;
  return { total: after.length - before.length, byOperation };
}

async function operations(store, count) {
  for (let i = 1; i <= 100; i++) await store.storeCredential('hist', `v${i}`, { autoVersion: true });
  for (let i = 0; i < 100; i++) await store.storeCredential(`exp.${String(i).padStart(3, '0')}`, 'v', i % 10 === 0 ? { expiresAt: '30d' } : {});
  await store.labelCredential('hist', 'current', { version: 99 });
  return {
    get: await counted(count, () => store.getCredential('hist', { required: true })),
    getLabel: await counted(count, () => store.getCredential('hist', { label: 'current', required: true })),
    labelMove: await counted(count, () => store.labelCredential('hist', 'current', { version: 100 })),
    unlabel: await counted(count, () => store.unlabelCredential('hist', 'current')),
    history100: await counted(count, () => store.credentialHistory('hist')),
    checkExpiring100: await counted(count, () => store.expiringCredentials({ withinMs: 31 * 86_400_000 })),
    putWithExpiry: await counted(count, () => store.storeCredential('hist', 'next', { autoVersion: true, expiresAt: '90d' })),
  };
}

// SSM
const ssm = mockClient(SSMClient);
const fake = new FakeSsm();
fake.pageSize = 50;
fake.install(ssm);
const ssmStore = new SSMStore({ client: new SSMClient({ region: 'us-east-1' }), region: 'us-east-1' });
const ssmOps = await operations(ssmStore, () => ssm.calls().map((c) => c.args[0].constructor.name.replace(/Command$/, '')));
ssm.restore();

// Vault
const vault = await startVaultServer();
const vaultStore = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'bench/', env: {} });
const vaultOps = await operations(vaultStore, () => vault.requests.map((r) => `${r.method} ${r.path.split('/')[3]}${r.path.includes('_credstash_lifecycle') ? ' (lifecycle record)' : ''}`));
await vault.close();

// `get` without a label: the requests it sent before the lifecycle existed, exactly.
const expected = { ssm: { get: { GetParameter: 1 } }, vault: { get: { 'GET data': 1 } } };
const checks = Object.fromEntries(
  Object.entries({ ssm: ssmOps, vault: vaultOps }).map(([tier, ops]) => [
    tier,
    {
      get_unchanged: JSON.stringify(ops.get.byOperation) === JSON.stringify(expected[tier].get),
      get_label_at_most_one_more: ops.getLabel.total <= ops.get.total + 1,
    },
  ]),
);
const result = { measuredAt: new Date().toISOString(), ssm: ssmOps, vault: vaultOps, expected, checks };
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/lifecycle-requests.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (!Object.values(checks).every((c) => Object.values(c).every(Boolean))) {
  console.error(`bench/lifecycle-requests.mjs: a get or get --label sends other requests than expected: ${JSON.stringify(checks)}`);
  process.exitCode = 1;
}
