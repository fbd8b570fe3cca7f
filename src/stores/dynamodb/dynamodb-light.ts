/**
 * The envelope tier's `get` without the AWS SDK: DynamoDB Query (Limit 1) / GetItem and KMS Decrypt through
 * the light JSON-protocol client (stores/aws/aws-json-client.ts), for a short-lived process (the CLI sets
 * `light`). The requests are the ones the SDK sends for the same inputs, and the answers come back in the
 * SDK's shapes (binary attributes and the data key as Uint8Array), so the item codec and the error mapping
 * are the same code on both paths. Used only when the session allows it (lightAwsSession); the SDK serves
 * every other case and every other operation.
 */
import type { AttributeValue, GetItemCommandInput, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { awsJsonCall, lightAwsSession, lightEndpoint, ParkedConnections, type LightAwsSession, type LightAwsSettings } from '../aws/aws-json-client.js';
import type { Item } from './dynamodb-item-codec.js';

export interface LightClients {
  readonly regions: { readonly dynamodb: string; readonly kms: string };
  query(input: QueryCommandInput): Promise<{ Items?: Item[] }>;
  getItem(input: GetItemCommandInput): Promise<{ Item?: Item }>;
  decrypt(input: { CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }): Promise<{ Plaintext?: Uint8Array }>;
  /** Close the connections opened ahead of a Decrypt that did not come (a missing item, an error). */
  close(): void;
}

export interface LightOptions extends LightAwsSettings {
  kmsRegion?: string;
  endpointUrl?: string;
  kmsEndpointUrl?: string;
}

/**
 * The light clients for these options, or undefined when only the SDK behaves as configured.
 * @param fallbackRegion Python credstash's region when none is configured anywhere
 * @param notice told once, before the first request, when that fallback is used
 */
export function lightClients(opts: LightOptions, env: NodeJS.ProcessEnv, fallbackRegion: string, notice: (() => void) | undefined): LightClients | undefined {
  const session = lightAwsSession(opts, env, fallbackRegion);
  if (session === undefined) return undefined;
  const kmsRegion = opts.kmsRegion ?? session.region;
  const ddbUrl = lightEndpoint('dynamodb', session.region, opts.endpointUrl, env);
  const kmsUrl = lightEndpoint('kms', kmsRegion, opts.kmsEndpointUrl, env);
  if (ddbUrl === undefined || kmsUrl === undefined) return undefined;
  let noticeDue = session.regionFallback;
  const connections = new ParkedConnections();
  const call = (s: LightAwsSession, endpoint: URL, region: string, service: 'dynamodb' | 'kms', target: string, input: unknown) => {
    if (noticeDue) {
      noticeDue = false;
      notice?.();
    }
    return awsJsonCall({ endpoint, region, service, target, jsonVersion: service === 'kms' ? '1.1' : '1.0', input, session: s, connections });
  };
  return {
    regions: { dynamodb: session.region, kms: kmsRegion },
    // The item read is followed by its Decrypt: KMS connects while DynamoDB answers (aws-json-client.ts),
    // once the read is on its way (openSoon), so that making that connection does not hold the read up.
    async query(input) {
      const answer = call(session, ddbUrl, session.region, 'dynamodb', 'DynamoDB_20120810.Query', input);
      connections.openSoon(kmsUrl, session);
      const out = await answer;
      return Array.isArray(out.Items) ? { Items: out.Items.map(itemFromJson) } : {};
    },
    async getItem(input) {
      const answer = call(session, ddbUrl, session.region, 'dynamodb', 'DynamoDB_20120810.GetItem', input);
      connections.openSoon(kmsUrl, session);
      const out = await answer;
      return out.Item !== undefined && out.Item !== null ? { Item: itemFromJson(out.Item) } : {};
    },
    async decrypt(input) {
      const out = await call(session, kmsUrl, kmsRegion, 'kms', 'TrentService.Decrypt', {
        // A view of the bytes, not a copy (Buffer.from(uint8Array) copies them one by one on a cold start).
        CiphertextBlob: base64Of(input.CiphertextBlob),
        EncryptionContext: input.EncryptionContext,
      });
      return typeof out.Plaintext === 'string' ? { Plaintext: bytes(out.Plaintext) } : {};
    },
    close: () => connections.close(),
  };
}

function base64Of(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Base64 -> a plain Uint8Array, as the SDK's decoder gives it. */
function bytes(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A DynamoDB JSON item -> the SDK's AttributeValue record. */
export function itemFromJson(raw: unknown): Item {
  const item: Item = {};
  if (raw === null || typeof raw !== 'object') return item;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) item[k] = attributeFromJson(v);
  return item;
}

/** One AttributeValue as the SDK deserializes it: B and BS as bytes, N as text, L and M recursively. */
export function attributeFromJson(raw: unknown): AttributeValue {
  const entries = raw !== null && typeof raw === 'object' ? Object.entries(raw as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined) : [];
  const [key, v] = entries[0] ?? ['', undefined];
  switch (key) {
    case 'S':
      return { S: String(v) };
    case 'N':
      return { N: String(v) };
    case 'B':
      return { B: bytes(String(v)) };
    case 'BOOL':
      return { BOOL: v === true };
    case 'NULL':
      return { NULL: v === true };
    case 'SS':
      return { SS: (v as unknown[]).map(String) };
    case 'NS':
      return { NS: (v as unknown[]).map(String) };
    case 'BS':
      return { BS: (v as unknown[]).map((x) => bytes(String(x))) };
    case 'L':
      return { L: (v as unknown[]).map(attributeFromJson) };
    case 'M':
      return { M: itemFromJson(v) };
    default:
      return { $unknown: [key, v] };
  }
}
