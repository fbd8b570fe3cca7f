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
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(3);
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
