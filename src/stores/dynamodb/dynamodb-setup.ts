/**
 * `credstash setup`: create the table (hash `name` S, range `version` S), on-demand by default or provisioned
 * on request, tagged Name=credstash plus the user's tags, and wait until it is ACTIVE. Idempotent: an
 * existing table is reported, not an error. The store then creates its companion lifecycle table (hash
 * `name` S only: labels and rotation state, docs/FORMAT.md §8) the same way, with the same billing and tags.
 */
import type { DynamoDBClient, Tag } from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError, ValidationError } from '../../core/errors.js';
import type { SetupOptions, SetupResult } from '../../core/types.js';
import type { DynamoDBModule } from './dynamodb-clients.js';

export interface SetupDeps {
  client: DynamoDBClient;
  mod: DynamoDBModule;
  table: string;
  /** The companion lifecycle table: hash key `name` only (default: the credentials table's key schema). */
  hashOnly?: boolean;
  region?: string;
  /** Runs an SDK call and maps its errors (the store's edge). */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** Poll interval and ceiling while waiting for ACTIVE (tests shorten them). */
  pollMs?: number;
  timeoutMs?: number;
}

export async function setupTable(deps: SetupDeps, opts: SetupOptions = {}): Promise<SetupResult> {
  const { client, mod, table } = deps;
  const where = deps.region === undefined ? '' : ` in ${deps.region}`;
  const tags = setupTags(opts.tags);
  const billing = opts.billing ?? 'on-demand';
  if (billing !== 'on-demand' && billing !== 'provisioned') throw new ValidationError('billing must be "on-demand" or "provisioned"');
  const rcu = opts.readCapacity ?? 1;
  const wcu = opts.writeCapacity ?? 1;
  for (const [label, n] of [['read capacity', rcu], ['write capacity', wcu]] as const) {
    if (!Number.isSafeInteger(n) || n < 1) throw new ValidationError(`${label} must be a positive integer`);
  }

  const existing = await describe(deps);
  if (existing !== undefined) {
    if (existing !== 'ACTIVE') await waitActive(deps);
    return { created: false, message: `dynamodb table "${table}" already exists${where}` };
  }
  try {
    await deps.call('CreateTable', () =>
      client.send(
        new mod.CreateTableCommand({
          TableName: table,
          AttributeDefinitions: deps.hashOnly === true
            ? [{ AttributeName: 'name', AttributeType: 'S' }]
            : [
                { AttributeName: 'name', AttributeType: 'S' },
                { AttributeName: 'version', AttributeType: 'S' },
              ],
          KeySchema: deps.hashOnly === true
            ? [{ AttributeName: 'name', KeyType: 'HASH' }]
            : [
                { AttributeName: 'name', KeyType: 'HASH' },
                { AttributeName: 'version', KeyType: 'RANGE' },
              ],
          ...(billing === 'provisioned'
            ? { BillingMode: 'PROVISIONED' as const, ProvisionedThroughput: { ReadCapacityUnits: rcu, WriteCapacityUnits: wcu } }
            : { BillingMode: 'PAY_PER_REQUEST' as const }),
        }),
      ),
    );
  } catch (err) {
    // Someone else created it between our DescribeTable and CreateTable: still idempotent.
    if ((err as { cause?: { name?: string } }).cause?.name === 'ResourceInUseException') {
      await waitActive(deps);
      return { created: false, message: `dynamodb table "${table}" already exists${where}` };
    }
    throw err;
  }
  // Tag after creation, as Python credstash does (dynalite ignores Tags on CreateTable; TagResource works on both).
  const arn = await waitActive(deps);
  if (arn !== undefined) {
    await deps.call('TagResource', () => client.send(new mod.TagResourceCommand({ ResourceArn: arn, Tags: tags })));
  }
  const mode = billing === 'provisioned' ? `provisioned ${rcu} RCU / ${wcu} WCU` : 'on-demand';
  return { created: true, message: `created dynamodb table "${table}"${where} (${mode}), tagged ${tags.map((t) => `${t.Key}=${t.Value}`).join(', ')}` };
}

/** Name=credstash first (as Python credstash tags every table), then the user's tags. */
export function setupTags(user: Record<string, string> | undefined): Tag[] {
  const tags: Tag[] = [{ Key: 'Name', Value: 'credstash' }];
  for (const [Key, Value] of Object.entries(user ?? {})) {
    if (Key.length === 0 || Key.length > 128) throw new ValidationError('tag keys must be 1 to 128 characters');
    if (typeof Value !== 'string' || Value.length > 256) throw new ValidationError(`tag "${Key}" must have a string value of at most 256 characters`);
    if (Key === 'Name') tags[0] = { Key, Value };
    else tags.push({ Key, Value });
  }
  return tags;
}

async function describe(deps: SetupDeps): Promise<string | undefined> {
  return (await describeTable(deps))?.status;
}

async function describeTable(deps: SetupDeps): Promise<{ status: string; arn?: string } | undefined> {
  try {
    const out = await deps.call('DescribeTable', () => deps.client.send(new deps.mod.DescribeTableCommand({ TableName: deps.table })));
    return { status: out.Table?.TableStatus ?? 'ACTIVE', arn: out.Table?.TableArn };
  } catch (err) {
    if ((err as { cause?: { name?: string } }).cause?.name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

/** Wait until the table is ACTIVE; returns its ARN. */
async function waitActive(deps: SetupDeps): Promise<string | undefined> {
  const deadline = Date.now() + (deps.timeoutMs ?? 5 * 60_000);
  let delay = deps.pollMs ?? 200;
  for (;;) {
    const t = await describeTable(deps);
    const status = t?.status;
    if (status === 'ACTIVE') return t?.arn;
    if (Date.now() > deadline) {
      throw new StoreUnavailableError(`dynamodb table "${deps.table}" did not become ACTIVE in time (status ${status ?? 'missing'}); run \`credstash setup\` again later`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}
