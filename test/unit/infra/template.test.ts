import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KMS_KEY, DEFAULT_TABLE } from '../../../src/config/defaults.js';
import { asList, loadTemplate, renderTemplate, statementsOf, type Statement, type Template } from '../../helpers/cfn-template.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(root, 'infra/credstash.yaml');
const SSM = join(root, 'infra/ssm-policies.yaml');

const TABLE_ARN = '<CredentialTable.Arn>';
const KEY_ARN = '<CredentialKey.Arn>';
const LIFECYCLE_ARN = '<LifecycleTable.Arn>';

/** The least-privilege action sets (infra/README.md explains each). Order-insensitive, exact. */
const EXPECTED: Record<string, Record<string, { actions: string[]; resource: string }>> = {
  ReaderPolicy: {
    ReadTable: { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'], resource: TABLE_ARN },
    ReadLifecycle: { actions: ['dynamodb:GetItem', 'dynamodb:Scan'], resource: LIFECYCLE_ARN },
    DecryptDataKeys: { actions: ['kms:Decrypt'], resource: KEY_ARN },
  },
  WriterPolicy: {
    WriteTable: { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resource: TABLE_ARN },
    WriteLifecycle: { actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resource: LIFECYCLE_ARN },
    GenerateDataKeys: { actions: ['kms:GenerateDataKey'], resource: KEY_ARN },
  },
  AdminPolicy: {
    SetupTable: { actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:TagResource'], resource: TABLE_ARN },
    DeleteVersions: { actions: ['dynamodb:DeleteItem', 'dynamodb:Query'], resource: TABLE_ARN },
    SetupLifecycleTable: { actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:TagResource'], resource: LIFECYCLE_ARN },
    DropDeletedLabels: { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], resource: LIFECYCLE_ARN },
  },
};

function sorted(xs: string[]): string[] {
  return [...xs].sort();
}

function policyActions(t: Template, ...ids: string[]): Set<string> {
  return new Set(ids.flatMap((id) => statementsOf(t, id).flatMap((s) => asList(s.Action))));
}

describe('infra/credstash.yaml', () => {
  const raw = loadTemplate(MAIN);
  const plain = renderTemplate(raw);
  const prod = renderTemplate(raw, { ContextEnv: 'prod' });

  it('parses with its short-form tags into a 2010-09-09 template', () => {
    expect(raw.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(raw.Resources.CredentialKeyAlias?.Properties?.TargetKeyId).toEqual({ Ref: 'CredentialKey' });
    expect(raw.Conditions?.HasContextEnv).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ContextEnv' }, ''] }] });
  });

  it('defaults the table name and key alias to the CLI defaults', () => {
    expect(raw.Parameters?.TableName?.Default).toBe(DEFAULT_TABLE);
    expect(raw.Parameters?.KeyAlias?.Default).toBe(DEFAULT_KMS_KEY);
    expect(plain.Resources.CredentialTable?.Properties?.TableName).toBe(DEFAULT_TABLE);
    expect(plain.Resources.CredentialKeyAlias?.Properties?.AliasName).toBe(DEFAULT_KMS_KEY);
    expect(plain.Resources.CredentialKeyAlias?.Properties?.TargetKeyId).toBe('<ref:CredentialKey>');
  });

  it('rejects an alias that does not start with alias/', () => {
    expect(() => renderTemplate(raw, { KeyAlias: 'credstash' })).toThrow(/AllowedPattern/);
  });

  it('creates a symmetric KMS key with rotation on, kept when the stack is deleted', () => {
    const key = plain.Resources.CredentialKey!;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    expect(key.DeletionPolicy).toBe('Retain');
    // The key policy delegates to IAM (the account root); nothing else is granted there.
    const kp = (key.Properties!.KeyPolicy as { Statement: Statement[] }).Statement;
    expect(kp).toEqual([
      { Sid: 'EnableIamPolicies', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
    ]);
  });

  it('creates the table exactly as Python credstash expects, with PITR, SSE and deletion protection', () => {
    const table = plain.Resources.CredentialTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toEqual({
      TableName: 'credential-store',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'name', AttributeType: 'S' },
        { AttributeName: 'version', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'name', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      DeletionProtectionEnabled: true,
      Tags: [{ Key: 'Name', Value: 'credstash' }],
    });
  });

  it('creates the lifecycle table <TableName>-lifecycle (hash key name only) as setup does, with PITR, SSE and deletion protection', async () => {
    const { lifecycleTableName } = await import('../../../src/stores/dynamodb/dynamodb-lifecycle.js');
    const table = plain.Resources.LifecycleTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toEqual({
      TableName: lifecycleTableName(DEFAULT_TABLE),
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      DeletionProtectionEnabled: true,
      Tags: [{ Key: 'Name', Value: 'credstash' }],
    });
    expect(renderTemplate(raw, { TableName: 'team-creds' }).Resources.LifecycleTable?.Properties?.TableName).toBe(lifecycleTableName('team-creds'));
  });

  for (const [policy, statements] of Object.entries(EXPECTED)) {
    it(`${policy}: every statement allows exactly its least-privilege actions on one scoped resource`, () => {
      const res = plain.Resources[policy]!;
      expect(res.Type).toBe('AWS::IAM::ManagedPolicy');
      const actual = statementsOf(plain, policy);
      expect(actual.map((s) => s.Sid).sort()).toEqual(Object.keys(statements).sort());
      for (const s of actual) {
        const want = statements[s.Sid!]!;
        expect(s.Effect).toBe('Allow');
        expect(sorted(asList(s.Action)), `${policy}/${s.Sid}`).toEqual(sorted(want.actions));
        expect(asList(s.Resource), `${policy}/${s.Sid}`).toEqual([want.resource]);
        for (const a of asList(s.Action)) expect(a).not.toContain('*');
      }
    });
  }

  it('never grants Resource "*" or a wildcard resource in any IAM policy, whatever the parameters', () => {
    for (const t of [plain, prod]) {
      for (const id of Object.keys(EXPECTED)) {
        for (const s of statementsOf(t, id)) for (const r of asList(s.Resource)) expect(r).not.toContain('*');
      }
    }
  });

  it('adds no encryption-context condition when ContextEnv is empty', () => {
    for (const id of Object.keys(EXPECTED)) {
      for (const s of statementsOf(plain, id)) expect(s.Condition, `${id}/${s.Sid}`).toBeUndefined();
    }
  });

  it('limits kms:Decrypt and kms:GenerateDataKey to env=<ContextEnv> when it is set, and only those', () => {
    const cond = { StringEquals: { 'kms:EncryptionContext:env': 'prod' } };
    expect(statementsOf(prod, 'ReaderPolicy').find((s) => s.Sid === 'DecryptDataKeys')?.Condition).toEqual(cond);
    expect(statementsOf(prod, 'WriterPolicy').find((s) => s.Sid === 'GenerateDataKeys')?.Condition).toEqual(cond);
    for (const id of Object.keys(EXPECTED)) {
      for (const s of statementsOf(prod, id)) {
        if (!asList(s.Action).some((a) => a.startsWith('kms:'))) expect(s.Condition).toBeUndefined();
      }
    }
  });

  it('keeps readers and writers apart: a writer cannot decrypt, a reader cannot write, an admin can do neither', () => {
    const reader = policyActions(plain, 'ReaderPolicy');
    const writer = policyActions(plain, 'WriterPolicy');
    const admin = policyActions(plain, 'AdminPolicy');
    expect(writer.has('kms:Decrypt') || writer.has('dynamodb:GetItem') || writer.has('dynamodb:Scan')).toBe(false);
    expect(reader.has('dynamodb:PutItem') || reader.has('kms:GenerateDataKey') || reader.has('dynamodb:DeleteItem')).toBe(false);
    expect([...admin].some((a) => a.startsWith('kms:'))).toBe(false);
    expect(admin.has('dynamodb:DeleteTable')).toBe(false);
  });

  it('covers every DynamoDB and KMS call the envelope tier makes', () => {
    // Scan the tier's source for `new <mod>.<Op>Command(`: if the tier learns a new call, a policy must follow.
    const dir = join(root, 'src/stores/dynamodb');
    const calls = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/new\s+\w+\.(\w+)Command\(/g)) calls.add(m[1]!);
    }
    calls.delete('AssumeRole'); // STS, on the role's own trust policy, not this table or key
    expect(calls.size).toBeGreaterThan(5);
    const granted = policyActions(plain, 'ReaderPolicy', 'WriterPolicy', 'AdminPolicy');
    const service = (op: string): string => (['Decrypt', 'GenerateDataKey', 'Encrypt'].includes(op) ? 'kms' : 'dynamodb');
    for (const op of calls) expect(granted.has(`${service(op)}:${op}`), `${op} is not granted by any policy`).toBe(true);
  });

  it('outputs the table name, the key ARN and the three policy ARNs', () => {
    const out = plain.Outputs!;
    expect(out.TableName?.Value).toBe('<ref:CredentialTable>');
    expect(out.KeyArn?.Value).toBe(KEY_ARN);
    expect(out.ReaderPolicyArn?.Value).toBe('<ref:ReaderPolicy>');
    expect(out.WriterPolicyArn?.Value).toBe('<ref:WriterPolicy>');
    expect(out.AdminPolicyArn?.Value).toBe('<ref:AdminPolicy>');
  });
});

describe('infra/ssm-policies.yaml', () => {
  const raw = loadTemplate(SSM);
  const PATH_ARN = 'arn:aws:ssm:us-east-1:123456789012:parameter/credstash/credentials';
  const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const awsManaged = renderTemplate(raw);
  const cmk = renderTemplate(raw, { KmsKeyArn: KEY });
  const ssmExpected: Record<string, Record<string, string[]>> = {
    SsmReaderPolicy: {
      ReadParameters: ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:ListTagsForResource'],
      ReadPath: ['ssm:GetParametersByPath'],
      ListParameterNames: ['ssm:DescribeParameters'],
      DecryptUnderPath: ['kms:Decrypt'],
    },
    SsmWriterPolicy: {
      WriteParameters: ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:GetParameter'],
      EncryptUnderPath: ['kms:Encrypt', 'kms:GenerateDataKey'],
    },
    SsmAdminPolicy: {
      DeleteParameters: ['ssm:DeleteParameter', 'ssm:GetParameterHistory'],
    },
    SsmLabellerPolicy: {
      LabelParameters: ['ssm:LabelParameterVersion', 'ssm:UnlabelParameterVersion', 'ssm:GetParameterHistory', 'ssm:GetParameter'],
    },
  };

  it('scopes every SSM statement to the parameter path and every KMS statement to the key, under the path context', () => {
    for (const [id, stmts] of Object.entries(ssmExpected)) {
      const actual = statementsOf(cmk, id);
      expect(actual.map((s) => s.Sid).sort(), id).toEqual(Object.keys(stmts).sort());
      for (const s of actual) {
        expect(sorted(asList(s.Action)), `${id}/${s.Sid}`).toEqual(sorted(stmts[s.Sid!]!));
        const resources = asList(s.Resource);
        if (asList(s.Action)[0]!.startsWith('kms:')) {
          expect(resources).toEqual([KEY]);
          expect(s.Condition).toEqual({
            StringEquals: { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' },
            StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': `${PATH_ARN}/*` },
          });
        } else if (s.Sid === 'ListParameterNames') {
          // the one action IAM cannot scope (no resource type); it lists names, never values
          expect(resources).toEqual(['*']);
        } else {
          for (const r of resources) expect([PATH_ARN, `${PATH_ARN}/*`]).toContain(r);
        }
      }
    }
  });

  it('emits no KMS statement with the AWS managed key (its key policy already governs it)', () => {
    for (const id of Object.keys(ssmExpected)) {
      for (const s of statementsOf(awsManaged, id)) expect(asList(s.Action).some((a) => a.startsWith('kms:'))).toBe(false);
    }
  });

  it('follows a custom path and refuses a path with a trailing slash', () => {
    const t = renderTemplate(raw, { ParameterPath: '/team-a/prod' });
    const r = statementsOf(t, 'SsmReaderPolicy').find((s) => s.Sid === 'ReadParameters')!.Resource;
    expect(r).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/team-a/prod/*');
    expect(() => renderTemplate(raw, { ParameterPath: '/credstash/credentials/' })).toThrow(/AllowedPattern/);
  });

  it('grants no write to the reader and no read or decrypt to the writer', () => {
    const reader = policyActions(cmk, 'SsmReaderPolicy');
    const writer = policyActions(cmk, 'SsmWriterPolicy');
    expect([...reader].some((a) => /Put|Delete|AddTags/.test(a))).toBe(false);
    expect([...writer].some((a) => /Decrypt|GetParametersByPath|GetParameterHistory/.test(a))).toBe(false);
  });

  const ssmDir = join(root, 'src/stores/ssm');
  it('covers every SSM call the SSM tier makes and matches its default prefix', async () => {
    const { DEFAULT_SSM_PREFIX } = (await import('../../../src/stores/ssm/ssm-store.js')) as { DEFAULT_SSM_PREFIX: string };
    expect(`${raw.Parameters?.ParameterPath?.Default}/`).toBe(DEFAULT_SSM_PREFIX);
    const calls = new Set<string>();
    for (const f of readdirSync(ssmDir).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(join(ssmDir, f), 'utf8').matchAll(/new\s+(?:\w+\.)?(\w+)Command\(/g)) calls.add(m[1]!);
    }
    const granted = policyActions(cmk, 'SsmReaderPolicy', 'SsmWriterPolicy', 'SsmAdminPolicy', 'SsmLabellerPolicy');
    for (const op of calls) expect(granted.has(`ssm:${op}`), `ssm:${op} is not granted by any policy`).toBe(true);
  });
});
