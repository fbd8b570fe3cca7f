/**
 * The servers read the rotators' literals and identifiers back as the text they quote: PostgreSQL with
 * standard_conforming_strings on and off, MariaDB with and without NO_BACKSLASH_ESCAPES. Strings of quotes,
 * backslashes, `%`, non-ASCII and SQL that would end the statement if quoting failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlLiteral, pgIdent, pgLiteral } from '../../../src/rotation/quote.js';
import { MY, PG, portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const pgUp = await portOpen(PG.host, PG.port);
const myUp = await portOpen(MY.host, MY.port);
const skipped = (up: boolean, where: string): string => (up || CI ? '' : ` (skipped: no server on ${where})`);

const TRICKY = ["plain", "it's", "\\", "\\'", "''\\\\''", "a\\nb", "'; SELECT 1; --", 'dq"dq', "%_*?", "pässwörd-é-ß-日本", "\\'; DROP TABLE x; --", "end\\"];

describe.skipIf(!pgUp && !CI)(`postgres literals and identifiers read back exactly${skipped(pgUp, '127.0.0.1:5432')}`, () => {
  type PgClient = import('pg').Client;
  let c: PgClient;
  beforeAll(async () => {
    const pg = (await import('pg')).default;
    c = new pg.Client({ ...PG, database: 'postgres' });
    await c.connect();
  });
  afterAll(async () => c?.end());

  it.each(['on', 'off'])('standard_conforming_strings = %s', async (mode) => {
    await c.query(`SET standard_conforming_strings = ${mode}`);
    await c.query('SET escape_string_warning = off');
    for (const s of TRICKY) {
      const r = await c.query<{ v: string }>(`SELECT ${pgLiteral(s)} AS v`);
      expect(r.rows[0]?.v).toBe(s);
      const id = await c.query(`SELECT 1 AS ${pgIdent(s)}`);
      expect(id.fields[0]?.name).toBe(s);
    }
  });
});

describe.skipIf(!myUp && !CI)(`mysql literals read back exactly${skipped(myUp, '127.0.0.1:3306')}`, () => {
  type Conn = import('mysql2/promise').Connection;
  let c: Conn;
  beforeAll(async () => {
    const mysql = await import('mysql2/promise');
    c = await mysql.createConnection({ ...MY, charset: 'utf8mb4' });
  });
  afterAll(async () => c?.end());

  it.each([false, true])('NO_BACKSLASH_ESCAPES %s', async (nbe) => {
    await c.query(`SET SESSION sql_mode = '${nbe ? 'NO_BACKSLASH_ESCAPES' : ''}'`);
    for (const s of TRICKY) {
      const [rows] = await c.query(`SELECT ${mysqlLiteral(s, nbe)} AS v`);
      expect((rows as Array<{ v: string }>)[0]?.v).toBe(s);
    }
  });
});
