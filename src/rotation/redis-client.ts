/**
 * A minimal Redis client over node:net (node:tls when asked): RESP2 commands as arrays of bulk strings, the
 * replies parsed (simple strings, errors, integers, bulk strings, nested arrays), one command at a time in
 * order. Enough for the redis rotator (AUTH, ACL SETUSER, ACL GETUSER, PING) without a client dependency:
 * the four commands need none of a full client's features (pooling, cluster, pub/sub, RESP3), and a user of
 * any other tier installs nothing for it.
 *
 * An error reply is a {@link RespError} carrying only its first word (`WRONGPASS`, `NOPERM`, `ERR`): Redis
 * error texts may quote the arguments of the command, and a password is one.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export type RespValue = string | number | null | RespError | RespValue[];

/** A Redis error reply: `code` is its first word (`WRONGPASS`); its text is not kept. */
export class RespError extends Error {
  constructor(readonly code: string) {
    super(`redis error ${code}`);
    this.name = 'RespError';
  }
}

export interface RedisConnectOptions {
  host: string;
  port: number;
  tls?: boolean | ConnectionOptions;
  timeoutMs?: number;
}

/** Parse one RESP2 value from `buf` at `pos`; undefined when more bytes are needed. */
export function parseResp(buf: Buffer, pos = 0): { value: RespValue; end: number } | undefined {
  if (pos >= buf.length) return undefined;
  const nl = buf.indexOf('\r\n', pos);
  if (nl < 0) return undefined;
  const type = String.fromCharCode(buf[pos] as number);
  const line = buf.toString('utf8', pos + 1, nl);
  const next = nl + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(/^[A-Z][A-Z0-9_-]*/.exec(line)?.[0] ?? 'ERR'), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const out: RespValue[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const item = parseResp(buf, at);
        if (item === undefined) return undefined;
        out.push(item.value);
        at = item.end;
      }
      return { value: out, end: at };
    }
    default:
      throw new RespError('PROTOCOL');
  }
}

/** A command as RESP: an array of bulk strings (arguments are bytes, never interpreted by Redis as syntax). */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

interface Waiter {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
}

export class RedisClient {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #waiting: Waiter[] = [];
  #failed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? d : Buffer.concat([this.#buffer, d]);
      try {
        for (let r = parseResp(this.#buffer); r !== undefined; r = parseResp(this.#buffer)) {
          this.#buffer = this.#buffer.subarray(r.end);
          this.#waiting.shift()?.resolve(r.value);
        }
      } catch (err) {
        this.#fail(err as Error);
      }
    });
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(Object.assign(new Error('connection closed'), { code: 'EPIPE' })));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const w of this.#waiting.splice(0)) w.reject(this.#failed);
    this.socket.destroy();
  }

  /** Connect (TLS when `tls` is set); rejects with the socket's error (its `code`: ECONNREFUSED, ...). */
  static connect(o: RedisConnectOptions): Promise<RedisClient> {
    return new Promise((resolve, reject) => {
      const timeoutMs = o.timeoutMs ?? 10_000;
      const tlsOptions: ConnectionOptions | undefined = o.tls === true ? {} : o.tls === false ? undefined : o.tls;
      const socket: Socket =
        tlsOptions === undefined ? netConnect({ host: o.host, port: o.port }) : tlsConnect({ ...(isIP(o.host) === 0 ? { servername: o.host } : {}), ...tlsOptions, host: o.host, port: o.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error('reply timed out'), { code: 'ETIMEDOUT' })));
        resolve(new RedisClient(socket));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
    });
  }

  /** Send one command; the reply (an error reply rejects with a RespError). */
  async command(...args: string[]): Promise<RespValue> {
    if (this.#failed !== undefined) throw this.#failed;
    const reply = await new Promise<RespValue>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
    if (reply instanceof RespError) throw reply;
    return reply;
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.on('error', () => undefined);
    this.socket.end();
    this.socket.destroy();
  }
}
