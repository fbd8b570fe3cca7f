import { CreateTableCommand, DescribeTableCommand, TagResourceCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsError, ddbMock, kmsMock, makeStore } from './dynamodb-test-kit.js';

beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
});

describe('DynamoDBStore.setup', () => {
  it('creates an on-demand table keyed name (S) / version (S), tagged Name=credstash plus user tags, and waits for ACTIVE', async () => {
    ddbMock
      .on(DescribeTableCommand)
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolvesOnce({ Table: { TableStatus: 'CREATING' } })
      .resolves({ Table: { TableStatus: 'ACTIVE', TableArn: 'arn:aws:dynamodb:us-east-1:1:table/creds' } });
    ddbMock.on(CreateTableCommand).resolves({});
    ddbMock.on(TagResourceCommand).resolves({});
    const res = await makeStore({ table: 'creds' }).setup({ tags: { team: 'platform' } });
    expect(res).toEqual({ created: true, message: 'created dynamodb table "creds" in us-east-1 (on-demand), tagged Name=credstash, team=platform' });
    const input = ddbMock.commandCalls(CreateTableCommand)[0]?.args[0].input;
    expect(input).toEqual({
      TableName: 'creds',
      AttributeDefinitions: [
        { AttributeName: 'name', AttributeType: 'S' },
        { AttributeName: 'version', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'name', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(ddbMock.commandCalls(TagResourceCommand)[0]?.args[0].input).toEqual({
      ResourceArn: 'arn:aws:dynamodb:us-east-1:1:table/creds',
      Tags: [
        { Key: 'Name', Value: 'credstash' },
        { Key: 'team', Value: 'platform' },
      ],
    });
    // Three for the table, one more for its lifecycle table (already there in this mock: nothing created).
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(4);
    expect(ddbMock.commandCalls(DescribeTableCommand)[3]?.args[0].input).toEqual({ TableName: 'creds-lifecycle' });
  });

  it('creates the lifecycle table <table>-lifecycle (hash key name only) with the same billing and tags, and names it', async () => {
    const arn = (t: string): string => `arn:aws:dynamodb:us-east-1:1:table/${t}`;
    const created = new Set<string>();
    ddbMock.on(DescribeTableCommand).callsFake((input: { TableName: string }) => {
      if (!created.has(input.TableName)) throw awsError('ResourceNotFoundException');
      return { Table: { TableStatus: 'ACTIVE', TableArn: arn(input.TableName) } };
    });
    ddbMock.on(CreateTableCommand).callsFake((input: { TableName: string }) => {
      created.add(input.TableName);
      return {};
    });
    ddbMock.on(TagResourceCommand).resolves({});
    const res = await makeStore({ table: 'creds' }).setup({ billing: 'provisioned', readCapacity: 2, writeCapacity: 3, tags: { team: 'platform' } });
    expect(res).toEqual({
      created: true,
      message: 'created dynamodb table "creds" in us-east-1 (provisioned 2 RCU / 3 WCU), tagged Name=credstash, team=platform; created its lifecycle table "creds-lifecycle" (labels and rotation state)',
    });
    const life = ddbMock.commandCalls(CreateTableCommand)[1]?.args[0].input;
    expect(life).toEqual({
      TableName: 'creds-lifecycle',
      AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
      BillingMode: 'PROVISIONED',
      ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 },
    });
    expect(ddbMock.commandCalls(TagResourceCommand)[1]?.args[0].input).toEqual({
      ResourceArn: arn('creds-lifecycle'),
      Tags: [
        { Key: 'Name', Value: 'credstash' },
        { Key: 'team', Value: 'platform' },
      ],
    });
    // Idempotent for both: a second setup creates nothing and reports the table as before.
    expect(await makeStore({ table: 'creds' }).setup()).toEqual({ created: false, message: 'dynamodb table "creds" already exists in us-east-1' });
    expect(ddbMock.commandCalls(CreateTableCommand)).toHaveLength(2);
    // A configured name is used instead.
    await makeStore({ table: 'creds', lifecycleTable: 'creds-labels' }).setup();
    expect(ddbMock.commandCalls(CreateTableCommand)[2]?.args[0].input.TableName).toBe('creds-labels');
  });

  it('creates a provisioned table on request', async () => {
    ddbMock.on(DescribeTableCommand).rejectsOnce(awsError('ResourceNotFoundException')).resolves({ Table: { TableStatus: 'ACTIVE' } });
    ddbMock.on(CreateTableCommand).resolves({});
    const res = await makeStore().setup({ billing: 'provisioned', readCapacity: 5, writeCapacity: 2 });
    expect(res.message).toContain('(provisioned 5 RCU / 2 WCU)');
    expect(ddbMock.commandCalls(CreateTableCommand)[0]?.args[0].input).toMatchObject({
      BillingMode: 'PROVISIONED',
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 2 },
    });
  });

  it('is idempotent: an existing table is reported as existing and nothing is created', async () => {
    ddbMock.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'ACTIVE' } });
    const res = await makeStore().setup();
    expect(res).toEqual({ created: false, message: 'dynamodb table "credential-store" already exists in us-east-1' });
    expect(ddbMock.commandCalls(CreateTableCommand)).toHaveLength(0);
  });

  it('treats a table created concurrently (ResourceInUseException) as existing', async () => {
    ddbMock.on(DescribeTableCommand).rejectsOnce(awsError('ResourceNotFoundException')).resolves({ Table: { TableStatus: 'ACTIVE' } });
    ddbMock.on(CreateTableCommand).rejects(awsError('ResourceInUseException', 'Table already exists'));
    expect((await makeStore().setup()).created).toBe(false);
    expect(ddbMock.commandCalls(TagResourceCommand)).toHaveLength(0);
  });

  it('maps AccessDeniedException on CreateTable to AccessDeniedError', async () => {
    ddbMock.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    ddbMock.on(CreateTableCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: dynamodb:CreateTable'));
    await expect(makeStore().setup()).rejects.toMatchObject({ code: 'ERR_ACCESS_DENIED', message: 'DynamoDB denied CreateTable in us-east-1: not authorized to perform: dynamodb:CreateTable' });
  });

  it('rejects bad capacity and tags with ValidationError before calling AWS', async () => {
    await expect(makeStore().setup({ billing: 'provisioned', readCapacity: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(makeStore().setup({ tags: { '': 'x' } })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(ddbMock.calls()).toHaveLength(0);
  });
});
