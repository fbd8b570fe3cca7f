/**
 * Writable tiers as CLI projects for the adversarial suite: a folder with a credstash.toml (0600) pointing
 * at a fresh store, the environment a child `credstash` process needs, and a library handle on the same
 * store for checking what the processes did.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { SqlStore, type EngineConfig } from '../../src/stores/sql/index.js';
import { childAwsEnv } from '../fixtures/aws-env.js';
import { startDynalite, type DynaliteHandle } from '../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../fixtures/kms-endpoint.js';
import { cleanEnv } from './cli.js';
import { sqlBackends } from './fernet-backends.js';

export interface CliProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Global flags every invocation needs (e.g. `-t table` for DynamoDB). */
  flags: string[];
  /** A library store over the same data, with the project's current keys. */
  open(): CredentialStore;
  /** A library store over the same data with exactly these keys (Fernet tiers). */
  openWith(keys: string[]): CredentialStore;
  /** The Fernet keys currently in credstash.toml (empty for DynamoDB). */
  keys(): string[];
}

export interface CliTier {
  name: string;
  skip?: string;
  fernet: boolean;
  project(): Promise<CliProject>;
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function projectDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'credstash-adv-cli-'));
  roots.push(d);
  chmodSync(d, 0o700);
  return d;
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

function writeConfig(dir: string, key: string, store: string): void {
  const path = join(dir, 'credstash.toml');
  writeFileSync(path, `[fernet]\nkeys = [${tomlString(key)}]\n\n${store}`, { mode: 0o600 });
}

export function configKeys(dir: string): string[] {
  const text = readFileSync(join(dir, 'credstash.toml'), 'utf8');
  const m = /keys\s*=\s*\[([^\]]*)\]/.exec(text);
  return m === null ? [] : [...(m[1] as string).matchAll(/"([^"]+)"/g)].map((x) => x[1] as string);
}

function engineToml(e: EngineConfig, table: string): string {
  const cfg = Object.entries(e)
    .filter(([k, v]) => v !== undefined && k !== 'name' && k !== 'timeoutMs')
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : tomlString(String(v))}`);
  cfg.push('timeout_ms = 20000');
  return `[credential_store]\ntype = "sql"\n[credential_store.config]\ntable = ${tomlString(table)}\n[credential_store.config.engine]\nname = ${tomlString(e.name)}\n[credential_store.config.engine.config]\n${cfg.join('\n')}\n`;
}

let aws: Promise<{ ddb: DynaliteHandle; kms: KmsEndpointHandle }> | undefined;
/** One dynalite + KMS endpoint per test file, started on first use. */
export function awsFixtures(): Promise<{ ddb: DynaliteHandle; kms: KmsEndpointHandle }> {
  if (aws === undefined) {
    aws = Promise.all([startDynalite(), startKmsEndpoint()]).then(([ddb, kms]) => ({ ddb, kms }));
    afterAll(async () => {
      const a = await aws;
      await Promise.all([a?.ddb.close(), a?.kms.close()]);
    });
  }
  return aws;
}

let tableSeq = 0;

export function cliTiers(opts: { dynamodb?: boolean } = {}): CliTier[] {
  const tiers: CliTier[] = [];
  if (opts.dynamodb !== false) {
    tiers.push({
      name: 'dynamodb (dynalite + KMS fixture)',
      fernet: false,
      async project() {
        const { ddb, kms } = await awsFixtures();
        const dir = projectDir();
        const table = `adv-${process.pid}-${++tableSeq}`;
        const lib = (): DynamoDBStore => new DynamoDBStore({ table, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint });
        await lib().setup();
        const env = childAwsEnv({ dynamodb: ddb.endpoint, kms: kms.endpoint }, { HOME: dir, NO_COLOR: '1', ...(process.env.ADV_DEBUG === '1' ? { CREDSTASH_DEBUG: '1' } : {}) });
        return { dir, env, flags: ['-t', table], open: lib, openWith: lib, keys: () => [] };
      },
    });
  }
  tiers.push({
    name: 'local keystore',
    fernet: true,
    async project() {
      const dir = projectDir();
      writeConfig(dir, generateFernetKey(), '[credential_store]\ntype = "local"\n[credential_store.config]\npath = ".credstash/keystore.json"\n');
      return {
        dir,
        env: cleanEnv(dir, process.env.ADV_DEBUG === '1' ? { CREDSTASH_DEBUG: '1' } : {}),
        flags: [],
        open: () => new LocalStore({ path: join(dir, '.credstash', 'keystore.json'), fernetKeys: configKeys(dir) }),
        openWith: (keys) => new LocalStore({ path: join(dir, '.credstash', 'keystore.json'), fernetKeys: keys }),
        keys: () => configKeys(dir),
      };
    },
  });
  for (const b of sqlBackends()) {
    tiers.push({
      name: b.name,
      ...(b.skip === undefined ? {} : { skip: b.skip }),
      fernet: true,
      async project() {
        const dir = projectDir();
        const { engine, table } = await (b.engine as NonNullable<typeof b.engine>)();
        writeConfig(dir, generateFernetKey(), engineToml(engine, table));
        mkdirSync(join(dir, '.credstash'), { recursive: true, mode: 0o700 });
        return {
          dir,
          env: cleanEnv(dir, process.env.ADV_DEBUG === '1' ? { CREDSTASH_DEBUG: '1' } : {}),
          flags: [],
          open: () => new SqlStore({ engine, table, fernetKeys: configKeys(dir) }),
          openWith: (keys) => new SqlStore({ engine, table, fernetKeys: keys }),
          keys: () => configKeys(dir),
        };
      },
    });
  }
  return tiers;
}
