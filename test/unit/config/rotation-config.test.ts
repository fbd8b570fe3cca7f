/**
 * The `rotation` table of a `[[credentials]]` definition: its keys and types are checked with the file's
 * line, it reaches ResolvedConfig.rotation by id, and it is never part of the definition stored with a version.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/merge.js';
import { parseConfigText } from '../../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'credstash-rotation-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOML = `
[credential_store]
type = "local"

[[credentials]]
id = "app.db"
credential_type = "database"

[credentials.rotation]
rotator = "postgres"
strategy = "alternating"
every = "30d"
admin = "\${credential:pg_admin}"
options = { users = ["app_a", "app_b"], owner = "app_owner" }
context = { env = "prod" }
`;

describe('config: [credentials.rotation]', () => {
  it('is read into ResolvedConfig.rotation by id and left out of the definition', () => {
    const file = join(dir, 'credstash.toml');
    writeFileSync(file, TOML);
    const config = loadConfig({ cwd: dir, env: {} });
    expect(config.rotation.get('app.db')).toEqual({
      rotator: 'postgres',
      strategy: 'alternating',
      every: '30d',
      admin: '${credential:pg_admin}',
      options: { users: ['app_a', 'app_b'], owner: 'app_owner' },
      context: { env: 'prod' },
    });
    expect(config.credentials.get('app.db')).toEqual({ id: 'app.db', credential_type: 'database' });
  });

  it('an unknown key, a missing rotator and a wrong type are errors naming the line and key path', () => {
    expect(() => parseConfigText(TOML.replace('every = "30d"', 'evry = "30d"'), 'c.toml')).toThrow(/c\.toml line 12: credentials\[0\]\.rotation\.evry: unknown key/);
    expect(() => parseConfigText(TOML.replace('rotator = "postgres"\n', ''), 'c.toml')).toThrow(/credentials\[0\]\.rotation\.rotator: is required/);
    expect(() => parseConfigText(TOML.replace('every = "30d"', 'every = 30'), 'c.toml')).toThrow(/credentials\[0\]\.rotation\.every: expected a string, found a number/);
    expect(() => parseConfigText(TOML.replace('context = { env = "prod" }', 'context = { env = 1 }'), 'c.toml')).toThrow(/credentials\[0\]\.rotation\.context\.env: expected a string/);
  });
});
