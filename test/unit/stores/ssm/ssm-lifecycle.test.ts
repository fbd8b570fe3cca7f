/**
 * The version lifecycle on SSM Parameter Store, against the in-memory SSM model on aws-sdk-client-mock: native
 * parameter labels, history from GetParameterHistory without decryption, expiry in the value and the
 * Description; the SSM requests of each operation are counted.
 */
import {
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  UnlabelParameterVersionCommand,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SSMStore } from '../../../../src/stores/ssm/index.js';
import { runLifecycleContract } from '../../../contract/lifecycle.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { FakeSsm } from './fake-ssm.js';

const ssm = mockClient(SSMClient);
let fake: FakeSsm;
let store: SSMStore;
const P = '/credstash/credentials/';

beforeEach(() => {
  ssm.reset();
  fake = new FakeSsm();
  fake.install(ssm);
  store = new SSMStore({ client: new SSMClient({ region: 'eu-west-1' }), region: 'eu-west-1' });
});

/** Every SSM call since the last reset, as `Command input-summary`. */
function calls(): string[] {
  return ssm.calls().map((c) => {
    const cmd = c.args[0];
    const i = cmd.input as Record<string, unknown>;
    const name = cmd.constructor.name.replace(/Command$/, '');
    const extra = [
      i.ParameterVersion === undefined ? '' : ` v${String(i.ParameterVersion)}`,
      i.Labels === undefined ? '' : ` [${(i.Labels as string[]).join(',')}]`,
      i.WithDecryption === undefined ? '' : i.WithDecryption === true ? ' decrypt' : ' nodecrypt',
    ].join('');
    return `${name} ${typeof i.Name === 'string' ? i.Name.replace(P, '') : ''}${extra}`.trimEnd();
  });
}

// The shared lifecycle contract on the SSM model. No forgeLabel: SSM labels are SSM's own, moved only by
// LabelParameterVersion, so who may point a label anywhere is decided by IAM (ssm:LabelParameterVersion),
// not by a key (docs/SECURITY.md). No sealed state: SSM keeps no record beside a parameter.
runLifecycleContract('ssm (aws-sdk-client-mock + SSM model)', async () => store, { context: false, expiry: true, history: true, state: false, compareAndSet: false });

async function three(id: string): Promise<void> {
  await store.storeCredential(id, 'one');
  await store.storeCredential(id, 'two', { autoVersion: true });
  await store.storeCredential(id, 'three', { autoVersion: true });
}

describe('SSM native labels', () => {
  it('a label move is GetParameter name:N, GetParameterHistory and one LabelParameterVersion; get --label is one GetParameter name:label', async () => {
    await three('app.db');
    ssm.resetHistory();
    expect(await store.labelCredential('app.db', 'current', { version: 2 })).toEqual({ id: 'app.db', label: 'current', version: '2' });
    expect(calls()).toEqual([
      'GetParameter app.db:2 nodecrypt',
      'GetParameterHistory app.db nodecrypt',
      'GetParameterHistory app.db nodecrypt',
      'LabelParameterVersion app.db v2 [current]',
    ]);
    expect(fake.params.get(`${P}app.db`)?.versions.map((v) => v.labels)).toEqual([[], ['current'], []]);
    ssm.resetHistory();
    const got = await store.getCredential('app.db', { label: 'current', required: true });
    expect(got.value).toBe('two');
    expect(got.version).toBe('2');
    expect(got.label).toBe('current');
    expect(got.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(calls()).toEqual(['GetParameter app.db:current decrypt']);
    // A read without a label is what it always was: one decrypted GetParameter of the name.
    ssm.resetHistory();
    expect((await store.getCredential('app.db', { required: true })).value).toBe('three');
    expect(calls()).toEqual(['GetParameter app.db decrypt']);
  });

  it('moving a label takes it off the version it was on (a label is on one version at a time), and reports where it was', async () => {
    await three('mv');
    await store.labelCredential('mv', 'current', { version: 1 });
    expect(await store.labelCredential('mv', 'current', { version: 3 })).toEqual({ id: 'mv', label: 'current', version: '3', previous: '1' });
    expect(fake.params.get(`${P}mv`)?.versions.map((v) => v.labels)).toEqual([[], [], ['current']]);
    expect((await store.getCredential('mv', { label: 'current', required: true })).value).toBe('three');
    expect(await store.listLabels()).toEqual([{ id: 'mv', labels: { current: { version: '3' } } }]);
  });

  it('a label SSM cannot hold (beginning with aws or ssm) is a ValidationError before any label request, and reads as absent without a request', async () => {
    await three('rules');
    ssm.resetHistory();
    for (const label of ['aws-prod', 'ssmcurrent']) {
      const err = await rejectionOf(store.labelCredential('rules', label, { version: 1 }));
      expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      expect(err.message).toContain('cannot begin with "aws" or "ssm"');
      expect(err.message).toContain(label);
    }
    expect(ssm.commandCalls(LabelParameterVersionCommand)).toHaveLength(0);
    ssm.resetHistory();
    expect(await store.getCredential('rules', { label: 'aws-prod' })).toBeUndefined();
    expect(ssm.calls()).toHaveLength(0);
  });

  it("SSM's 10-label limit per version is a ValidationError naming the version and the way out; nothing moves", async () => {
    await store.storeCredential('many', 'v');
    for (let i = 0; i < 10; i++) await store.labelCredential('many', `l${i}`, { version: 1 });
    const err = await rejectionOf(store.labelCredential('many', 'eleventh', { version: 1 }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', credentialId: 'many' });
    expect(err.message).toBe(`version 1 of credential "many" in ${store.description} already has 10 labels, ssm's limit per version; remove one (credstash unlabel) or label another version`);
    expect(fake.params.get(`${P}many`)?.versions[0]?.labels).toHaveLength(10);
  });

  it('a version SSM no longer keeps is CredentialNotFoundError; SSM listing a label as invalid is a ValidationError', async () => {
    await store.storeCredential('gone', 'v');
    expect(await rejectionOf(store.labelCredential('gone', 'x', { version: 7 }))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    // SSM's own rules are wider than credstash's (a label may not begin with a digit): its InvalidLabels answer is refused, not ignored.
    ssm.on(LabelParameterVersionCommand).resolvesOnce({ InvalidLabels: ['odd'], ParameterVersion: 1 });
    const err = await rejectionOf(store.labelCredential('gone', 'odd', { version: 1 }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(err.message).toContain('InvalidLabels');
  });

  it('unlabel: GetParameter name:label, then UnlabelParameterVersion of that version; a label moved in between is a LabelConflictError', async () => {
    await three('un');
    await store.labelCredential('un', 'next', { version: 3 });
    ssm.resetHistory();
    expect(await store.unlabelCredential('un', 'next')).toEqual({ id: 'un', label: 'next', version: '3', previous: '3' });
    expect(calls()).toEqual([
      'GetParameterHistory un nodecrypt',
      'GetParameterHistory un nodecrypt',
      'GetParameter un:next nodecrypt',
      'UnlabelParameterVersion un v3 [next]',
    ]);
    expect(fake.params.get(`${P}un`)?.versions.map((v) => v.labels)).toEqual([[], [], []]);
    expect(await rejectionOf(store.unlabelCredential('un', 'next'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    await store.labelCredential('un', 'next', { version: 2 });
    // Another writer moves the label to version 1 between our GetParameter and our Unlabel: SSM answers
    // InvalidLabels (not on version 2 any more), and the label stays where the other writer put it.
    fake.beforeUnlabel = () => {
      const versions = fake.params.get(`${P}un`)?.versions ?? [];
      for (const v of versions) v.labels = v.labels.filter((l) => l !== 'next');
      versions[0]?.labels.push('next');
    };
    const err = await rejectionOf(store.unlabelCredential('un', 'next'));
    expect(err).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'next' });
    expect(fake.params.get(`${P}un`)?.versions.map((v) => v.labels)).toEqual([['next'], [], []]);
  });

  it('8 movers of one label at once: each call is done or a LabelConflictError (SSM TooManyUpdates), and the label ends on a version a done call set', async () => {
    for (let i = 1; i <= 8; i++) await store.storeCredential('race', `v${i}`, i === 1 ? {} : { autoVersion: true });
    fake.labelDelayMs = 15;
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.labelCredential('race', 'current', { version: i + 1 })));
    const done: string[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') done.push(r.value.version);
      else expect(r.reason).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'current' });
    }
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(8); // the model does serve concurrent calls as SSM does: some lose
    const on = fake.params.get(`${P}race`)?.versions.filter((v) => v.labels.includes('current')).map((v) => String(v.version));
    expect(on).toHaveLength(1);
    expect(done).toContain(on?.[0]);
    const got = await store.getCredential('race', { label: 'current', required: true });
    expect(got.value).toBe(`v${on?.[0]}`);
    // Sequentially every move is done.
    fake.labelDelayMs = 0;
    for (let i = 1; i <= 8; i++) expect((await store.labelCredential('race', 'current', { version: i })).version).toBe(String(i));
  });

  it('listLabels is the DescribeParameters listing plus one history per matching parameter; unlabelled credentials are left out', async () => {
    await three('l.a');
    await three('l.b');
    await store.storeCredential('other', 'x');
    await store.labelCredential('l.a', 'current', { version: 3 });
    await store.labelCredential('l.a', 'previous', { version: 2 });
    ssm.resetHistory();
    expect(await store.listLabels({ pattern: 'l.*' })).toEqual([{ id: 'l.a', labels: { current: { version: '3' }, previous: { version: '2' } } }]);
    expect(ssm.commandCalls(DescribeParametersCommand).length).toBe(2); // 3 parameters, pages of 2
    expect(ssm.commandCalls(GetParameterHistoryCommand).map((c) => c.args[0].input.Name).sort()).toEqual([`${P}l.a`, `${P}l.a`, `${P}l.b`, `${P}l.b`]);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it('rollback writes the old value as a new version (Overwrite=true) and moves the labels to it', async () => {
    await three('rb');
    await store.labelCredential('rb', 'current', { version: 3 });
    const out = await store.rollbackCredential('rb', { to: 1, labels: ['current'] });
    expect(out).toEqual({ id: 'rb', version: 4, from: '1', labels: ['current'] });
    expect(ssm.commandCalls(PutParameterCommand).at(-1)?.args[0].input).toMatchObject({ Value: 'one', Overwrite: true, Description: 'rollback to version 1' });
    expect((await store.getCredential('rb', { label: 'current', required: true })).value).toBe('one');
    expect(fake.params.get(`${P}rb`)?.versions.map((v) => v.labels)).toEqual([[], [], [], ['current']]);
  });
});

describe('SSM history', () => {
  it('100 versions: GetParameterHistory without decryption only (pages of 50), with created time, LastModifiedUser, encrypted size, comment, expiry and labels', async () => {
    fake.pageSize = 50;
    for (let i = 1; i <= 100; i++) {
      await store.storeCredential('h', `${CANARY}-${i}`, { autoVersion: true, ...(i === 7 ? { comment: 'seventh' } : {}), ...(i === 9 ? { expiresAt: '2099-01-01' } : {}) });
    }
    await store.labelCredential('h', 'current', { version: 100 });
    ssm.resetHistory();
    const history = await store.credentialHistory('h');
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    expect(ssm.calls().every((c) => (c.args[0] as { input: { WithDecryption?: boolean } }).input.WithDecryption === false)).toBe(true);
    expect(calls()).toEqual(Array.from({ length: 4 }, () => 'GetParameterHistory h nodecrypt'));
    const v7 = history[6];
    expect(v7).toMatchObject({ version: '7', comment: 'seventh', writtenBy: fake.user, labels: [] });
    expect(v7?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(v7?.size).toBe(Buffer.byteLength(Buffer.concat([Buffer.alloc(100, 1), Buffer.from(`${CANARY}-7`)]).toString('base64')));
    expect(history[8]).toMatchObject({ version: '9', expiresAt: '2099-01-01T00:00:00.000Z' });
    expect(history[8]?.comment).toBeUndefined();
    expect(history[99]?.labels).toEqual(['current']);
    expect(JSON.stringify(history)).not.toContain(CANARY);
  });
});

describe('SSM version limit with labels', () => {
  it('a write that would make SSM drop a labelled oldest version (of 100) says so and names the way out', async () => {
    fake.pageSize = 50;
    for (let i = 1; i <= 100; i++) await store.storeCredential('full', `v${i}`, { autoVersion: true });
    await store.labelCredential('full', 'pinned', { version: 1 });
    const err = await rejectionOf(store.storeCredential('full', CANARY, { autoVersion: true }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', credentialId: 'full' });
    expect(err.message).toContain('move that label to a newer version (credstash label)');
    expectNoLeak(err, CANARY);
    await store.labelCredential('full', 'pinned', { version: 50 });
    expect((await store.storeCredential('full', 'v101', { autoVersion: true })).version).toBe(101);
  });
});

describe('SSM expiry', () => {
  it('is written in the value (credstash:expires:<ISO>:) and in the Description, in the one PutParameter of the version', async () => {
    await store.storeCredential('exp', { user: 'app', password: 'pw' }, { expiresAt: '2099-03-01', comment: 'quarterly' });
    const input = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(input?.Value).toBe('credstash:expires:2099-03-01T00:00:00.000Z:{"user":"app","password":"pw"}');
    expect(input?.Description).toBe('credstash:expires:2099-03-01T00:00:00.000Z quarterly');
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    ssm.resetHistory();
    const got = await store.getCredential('exp', { required: true });
    expect(got.value).toEqual({ user: 'app', password: 'pw' });
    expect(got.expiresAt).toBe('2099-03-01T00:00:00.000Z');
    expect(calls()).toEqual(['GetParameter exp decrypt']);
    expect((await store.getAllCredentials()).credentials[0]?.expiresAt).toBe('2099-03-01T00:00:00.000Z');
    expect((await store.listCredentials())[0]?.comment).toBe('quarterly');
    expect((await store.credentialHistory('exp'))[0]).toMatchObject({ comment: 'quarterly', expiresAt: '2099-03-01T00:00:00.000Z' });
  });

  it('check --expiring reads only the DescribeParameters listing; a strict read of an expired version is CredentialExpiredError', async () => {
    await store.storeCredential('soon', 'v', { expiresAt: '2099-01-01' });
    await store.storeCredential('never', 'v');
    // An expired version, as a writer left it when its expiry was in the future.
    fake.seed(`${P}past`, 'credstash:expires:2020-01-01T00:00:00.000Z:old', 'credstash:expires:2020-01-01T00:00:00.000Z');
    ssm.resetHistory();
    expect(await store.expiringCredentials()).toEqual([{ id: 'past', version: '1', expiresAt: '2020-01-01T00:00:00.000Z', expired: true }]);
    expect(await store.expiringCredentials({ withinMs: 100 * 365 * 86_400_000 })).toEqual([
      { id: 'past', version: '1', expiresAt: '2020-01-01T00:00:00.000Z', expired: true },
      { id: 'soon', version: '1', expiresAt: '2099-01-01T00:00:00.000Z', expired: false },
    ]);
    expect(ssm.calls().every((c) => c.args[0] instanceof DescribeParametersCommand)).toBe(true);
    expect((await store.getCredential('past', { required: true })).value).toBe('old');
    const err = await rejectionOf(store.getCredential('past', { strict: true }));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_EXPIRED', credentialId: 'past' });
    expectNoLeak(err, 'old');
  });

  it('text that begins like the expiry envelope without one is kept behind credstash:text: and reads back as written; such a comment is refused', async () => {
    const text = 'credstash:expires:2020-01-01T00:00:00.000Z:not-an-expiry';
    await store.storeCredential('lookalike', text);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe(`credstash:text:${text}`);
    const got = await store.getCredential('lookalike', { required: true, strict: true });
    expect(got.value).toBe(text);
    expect(got.expiresAt).toBeUndefined();
    expect((await store.getAllCredentials()).credentials.map((c) => c.value)).toEqual([text]);
    const err = await rejectionOf(store.storeCredential('c', 'v', { comment: 'credstash:expires:2020-01-01T00:00:00.000Z' }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
  });

  it('the envelope counts against the size limit: a value that fits alone but not with its expiry is ValueTooLargeError, never sent', async () => {
    const value = CANARY + 'x'.repeat(4096 - CANARY.length - 10);
    const err = await rejectionOf(store.storeCredential('big', value, { expiresAt: '2099-01-01' }));
    expect(err).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', credentialId: 'big' });
    expect(err.message).toContain('4096');
    expectNoLeak(err, CANARY);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    await store.storeCredential('big', value);
    expect(ssm.commandCalls(GetParametersByPathCommand)).toHaveLength(0);
  });
});
