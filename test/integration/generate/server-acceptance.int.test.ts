/**
 * Each server preset's values are accepted by the server it is named after, on this machine's PostgreSQL,
 * MariaDB and Redis: a throwaway role/user is given a generated password with the server's own statement
 * (the password written into the statement as a plain quoted literal, the way an operator would), and is
 * then authenticated with it; 200 samples per preset, so that values starting or ending with a symbol,
 * and each symbol, are met. The users are dropped afterwards.
 *
 * PostgreSQL on this machine trusts 127.0.0.1 (pg_hba.conf), so a login succeeds whatever the password. The
 * test therefore checks what a password login checks: the SCRAM-SHA-256 verifier the server stored (in
 * pg_authid) must be the one derived from the generated value, byte for byte (ClientKey's hash = StoredKey,
 * and ServerKey, RFC 5802/7677). A wrong password is checked the same way, and the role then logs in with the
 * `pg` client; where pg_hba.conf asks for a password, that login is refused for the wrong password too.
 *
 * Redis is spoken to over RESP on node:net directly (a dozen lines): no client library is needed for
 * ACL SETUSER, AUTH and ACL DELUSER, and the bytes sent are exactly the password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateValue, presetPolicy } from '../../../src/index.js';
import { MY, PG, portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const REDIS = { host: '127.0.0.1', port: 6379 } as const;
const SAMPLES = 200;
const pgUp = await portOpen(PG.host, PG.port);
const myUp = await portOpen(MY.host, MY.port);
const redisUp = await portOpen(REDIS.host, REDIS.port);
const skipped = (up: boolean, where: string): string => (up || CI ? '' : ` (skipped: no server on ${where})`);

const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;

/** Every symbol of a preset appears, and values starting and ending with one, across the samples. */
function samples(preset: 'postgres' | 'mysql' | 'redis'): string[] {
  const out = Array.from({ length: SAMPLES }, () => generateValue(presetPolicy(preset)));
  for (const sym of '-_.') expect(out.some((v) => v.includes(sym))).toBe(true);
  return out;
}

describe.skipIf(!pgUp && !CI)(`postgres preset: ALTER ROLE ... PASSWORD on PostgreSQL${skipped(pgUp, '127.0.0.1:5432')}`, () => {
  const role = `credstash_gen_${suffix}`;
  type PgClient = import('pg').Client;
  let admin: PgClient;
  beforeAll(async () => {
    const pg = (await import('pg')).default;
    admin = new pg.Client({ ...PG, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });
  afterAll(async () => {
    await admin?.query(`DROP ROLE IF EXISTS ${role}`);
    await admin?.end();
  });

  /** Whether the verifier pg_authid holds for the role is the SCRAM-SHA-256 one of `password`. */
  async function verifierMatches(password: string): Promise<boolean> {
    const r = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(r.rows[0]?.rolpassword ?? '');
    if (m === null) throw new Error('the stored password is not a SCRAM-SHA-256 verifier');
    const salted = pbkdf2Sync(password, Buffer.from(m[2] as string, 'base64'), Number(m[1]), 32, 'sha256');
    const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
    const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
    return storedKey === m[3] && serverKey === m[4];
  }

  it(`${SAMPLES} generated passwords are set by ALTER ROLE as quoted literals, stored as exactly that password, and log in`, async () => {
    const pg = (await import('pg')).default;
    for (const password of samples('postgres')) {
      expect(password).not.toMatch(/['\\]/); // a plain '...' literal is the whole quoting needed
      await admin.query(`SET password_encryption = 'scram-sha-256'`);
      await admin.query(`ALTER ROLE ${role} PASSWORD '${password}'`);
      expect(await verifierMatches(password)).toBe(true);
      expect(await verifierMatches(`${password}x`)).toBe(false);
      const c = new pg.Client({ ...PG, user: role, password, database: 'postgres' });
      await c.connect();
      expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).toBe(role);
      await c.end();
    }
  }, 120_000);
});

describe.skipIf(!myUp && !CI)(`mysql preset: ALTER USER ... IDENTIFIED BY on MariaDB${skipped(myUp, '127.0.0.1:3306')}`, () => {
  const user = `credgen_${randomBytes(4).toString('hex')}`;
  type MyConn = import('mysql2/promise').Connection;
  let admin: MyConn;
  beforeAll(async () => {
    const mysql = await import('mysql2/promise');
    admin = await mysql.createConnection({ ...MY });
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'initial-Pw1'`);
  });
  afterAll(async () => {
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin?.end();
  });

  it(`${SAMPLES} generated passwords are set by ALTER USER as quoted literals and log in; a wrong one does not`, async () => {
    const mysql = await import('mysql2/promise');
    const list = samples('mysql');
    for (const [i, password] of list.entries()) {
      expect(password).not.toMatch(/['\\]/);
      await admin.query(`ALTER USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      const c = await mysql.createConnection({ host: MY.host, port: MY.port, user, password });
      const [rows] = await c.query('SELECT CURRENT_USER() AS u');
      expect((rows as Array<{ u: string }>)[0]?.u).toBe(`${user}@%`);
      await c.end();
      if (i % 50 === 0) {
        await expect(mysql.createConnection({ host: MY.host, port: MY.port, user, password: `${password}x` })).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
      }
    }
  }, 120_000);
});

/** A minimal RESP client: send a command as an array of bulk strings, read one reply line (+OK / -ERR ...). */
class Resp {
  private buffer = '';
  private waiting: Array<(line: string) => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\r\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 2);
        this.waiting.shift()?.(line);
      }
    });
  }
  static open(): Promise<Resp> {
    return new Promise((resolve, reject) => {
      const s = connect(REDIS);
      s.once('connect', () => resolve(new Resp(s)));
      s.once('error', reject);
    });
  }
  send(...args: string[]): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

describe.skipIf(!redisUp && !CI)(`redis preset: ACL SETUSER on Redis${skipped(redisUp, '127.0.0.1:6379')}`, () => {
  const user = `credstash_gen_${suffix}`;
  let admin: Resp;
  beforeAll(async () => {
    admin = await Resp.open();
  });
  afterAll(async () => {
    if (admin !== undefined) {
      await admin.send('ACL', 'DELUSER', user);
      admin.close();
    }
  });

  it(`${SAMPLES} generated passwords are set by ACL SETUSER and AUTH with them succeeds; a wrong one fails`, async () => {
    for (const password of samples('redis')) {
      expect(password).not.toMatch(/[\s<>#]/); // an ACL rule ">password" is one word of a users.acl line
      expect(await admin.send('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '+ping')).toBe('+OK');
      const c = await Resp.open();
      try {
        expect(await c.send('AUTH', user, `${password}x`)).toMatch(/^-WRONGPASS/);
        expect(await c.send('AUTH', user, password)).toBe('+OK');
        expect(await c.send('PING')).toBe('+PONG');
      } finally {
        c.close();
      }
    }
  }, 120_000);
});
