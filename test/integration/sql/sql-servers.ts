/**
 * The machine's real PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (127.0.0.1:3306, root, no
 * password), each test run in a database of its own that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;
export const MY = { host: '127.0.0.1', port: 3306, user: 'root', password: '' } as const;

/** Whether something accepts TCP connections there (within 1 s). */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function testDatabaseName(): string {
  return `credstash_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function createPgDatabase(name: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ ...PG, database: 'postgres' });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
}

export async function dropPgDatabase(name: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ ...PG, database: 'postgres' });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

export async function createMyDatabase(name: string): Promise<void> {
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection({ ...MY });
  try {
    await c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  } finally {
    await c.end();
  }
}

export async function dropMyDatabase(name: string): Promise<void> {
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection({ ...MY });
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
  } finally {
    await c.end();
  }
}
