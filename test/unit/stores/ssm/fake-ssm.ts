/**
 * An in-memory model of the SSM Parameter Store calls SSMStore makes, installed on an aws-sdk-client-mock
 * (no hand-rolled client; the mock's callsFake answers like SSM would). It assigns versions,
 * keeps the newest 100, enforces Overwrite, refuses Tags with Overwrite=true, keeps the previous Description
 * on an overwrite that sends none (as SSM does), and pages every listing.
 *
 * Labels as SSM documents them (LabelParameterVersion, UnlabelParameterVersion, `name:label` selectors):
 * a label is on one version at a time (labelling another version moves it), at most 10 labels per version
 * (ParameterVersionLabelLimitExceeded), a label that begins with a digit, `aws` or `ssm` (any case) or is longer
 * than 100 characters is returned in InvalidLabels and not attached, unlabelling a label that is not on the
 * given version returns it in InvalidLabels. Label calls on one parameter are served one at a time: a call that
 * arrives while another is in progress (`labelDelayMs` of work each) fails with TooManyUpdates, as SSM answers
 * concurrent updates of one resource. Each version records LastModifiedDate and LastModifiedUser (`user`); the
 * history without decryption returns a SecureString's Value in an encrypted form (base64, longer than the value).
 * A write that would push out a labelled oldest version of 100 is ParameterMaxVersionLimitExceeded, as in SSM.
 */
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  LabelParameterVersionCommand,
  ParameterMaxVersionLimitExceeded,
  ParameterVersionLabelLimitExceeded,
  ParameterVersionNotFound,
  PutParameterCommand,
  TooManyUpdates,
  UnlabelParameterVersionCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SSMClientResolvedConfig,
  type Tag,
} from '@aws-sdk/client-ssm';
import type { AwsStub } from 'aws-sdk-client-mock';

interface Version { value: string; version: number; description?: string; keyId?: string; labels: string[]; modified: Date; user: string }
interface Param { versions: Version[]; tags: Tag[] }

export class FakeSsm {
  readonly params = new Map<string, Param>();
  /** Page size the fake uses for every paginated call (small, so tests cross pages). */
  pageSize = 2;
  /** LastModifiedUser of new versions (SSM records the caller's ARN). */
  user = 'arn:aws:sts::123456789012:assumed-role/deployer/ci';
  /** How long a label call works on its parameter (concurrent calls meanwhile get TooManyUpdates). */
  labelDelayMs = 0;
  /** Runs when an UnlabelParameterVersion arrives, before SSM serves it (tests: another writer gets in first). */
  beforeUnlabel: (() => void) | undefined;
  /** Parameters with a label call in progress. */
  readonly #busy = new Set<string>();

  install(mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig>): void {
    const meta = { $metadata: {} };
    mock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; Overwrite?: boolean; Description?: string; KeyId?: string; Tags?: Tag[] }) => {
      if (input.Tags !== undefined && input.Overwrite === true) {
        throw Object.assign(new Error('Invalid request: tags and overwrite can\'t be used together.'), { name: 'ValidationException' });
      }
      const p = this.params.get(input.Name);
      if (p !== undefined && input.Overwrite !== true) throw new ParameterAlreadyExists({ message: 'The parameter already exists.', ...meta });
      const param = p ?? { versions: [], tags: input.Tags ?? [] };
      // SSM keeps 100 versions; it will not delete the oldest to make room when a label is on it.
      if (param.versions.length >= 100 && (param.versions[0]?.labels.length ?? 0) > 0) {
        throw new ParameterMaxVersionLimitExceeded({ message: 'the oldest version can\'t be deleted because it has a label associated with it', ...meta });
      }
      const version = (param.versions.at(-1)?.version ?? 0) + 1;
      // As SSM does: an overwrite without Description keeps the previous version's Description.
      const description = input.Description ?? param.versions.at(-1)?.description;
      param.versions.push({
        value: input.Value,
        version,
        ...(description === undefined ? {} : { description }),
        ...(input.KeyId === undefined ? {} : { keyId: input.KeyId }),
        labels: [],
        modified: new Date(),
        user: this.user,
      });
      if (param.versions.length > 100) param.versions.shift();
      this.params.set(input.Name, param);
      return { Version: version, Tier: 'Standard' };
    });
    mock.on(GetParameterCommand).callsFake((input: { Name: string; WithDecryption?: boolean }) => {
      // `name:N` selects a version, `name:label` a label (labels never begin with a digit).
      const m = /^(.*):([^:/]+)$/.exec(input.Name);
      const name = m === null ? input.Name : (m[1] as string);
      const p = this.params.get(name);
      if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
      const sel = m?.[2];
      const v = sel === undefined ? p.versions.at(-1) : /^\d+$/.test(sel) ? p.versions.find((x) => x.version === Number(sel)) : p.versions.find((x) => x.labels.includes(sel));
      if (v === undefined) throw new ParameterVersionNotFound({ message: '', ...meta });
      return {
        Parameter: {
          Name: name,
          Type: 'SecureString',
          Value: input.WithDecryption === true ? v.value : encrypted(v.value),
          Version: v.version,
          LastModifiedDate: v.modified,
          ...(sel === undefined ? {} : { Selector: `:${sel}` }),
        },
      };
    });
    mock.on(GetParameterHistoryCommand).callsFake((input: { Name: string; NextToken?: string; WithDecryption?: boolean }) => {
      const p = this.params.get(input.Name);
      if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
      return this.#page(
        p.versions.map((v) => ({
          Name: input.Name,
          Type: 'SecureString',
          Version: v.version,
          Description: v.description,
          Value: input.WithDecryption === true ? v.value : encrypted(v.value),
          Labels: [...v.labels],
          LastModifiedDate: v.modified,
          LastModifiedUser: v.user,
          Tier: 'Standard',
        })),
        input.NextToken,
        'Parameters',
      );
    });
    mock.on(LabelParameterVersionCommand).callsFake(async (input: { Name: string; ParameterVersion?: number; Labels: string[] }) => {
      return this.#serialised(input.Name, () => {
        const p = this.params.get(input.Name);
        if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
        const v = input.ParameterVersion === undefined ? p.versions.at(-1) : p.versions.find((x) => x.version === input.ParameterVersion);
        if (v === undefined) throw new ParameterVersionNotFound({ message: '', ...meta });
        const invalid = input.Labels.filter((l) => l.length === 0 || l.length > 100 || /^(\d|aws|ssm)/i.test(l) || !/^[A-Za-z0-9._-]+$/.test(l));
        const valid = input.Labels.filter((l) => !invalid.includes(l));
        if (new Set([...v.labels, ...valid]).size > 10) {
          throw new ParameterVersionLabelLimitExceeded({ message: 'A parameter version can have maximum 10 labels.', ...meta });
        }
        for (const l of valid) {
          for (const other of p.versions) other.labels = other.labels.filter((x) => x !== l);
          v.labels.push(l);
        }
        return { InvalidLabels: invalid, ParameterVersion: v.version };
      });
    });
    mock.on(UnlabelParameterVersionCommand).callsFake(async (input: { Name: string; ParameterVersion: number; Labels: string[] }) => {
      this.beforeUnlabel?.();
      return this.#serialised(input.Name, () => {
        const p = this.params.get(input.Name);
        if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
        const v = p.versions.find((x) => x.version === input.ParameterVersion);
        if (v === undefined) throw new ParameterVersionNotFound({ message: '', ...meta });
        const removed = input.Labels.filter((l) => v.labels.includes(l));
        v.labels = v.labels.filter((l) => !removed.includes(l));
        return { RemovedLabels: removed, InvalidLabels: input.Labels.filter((l) => !removed.includes(l)) };
      });
    });
    mock.on(DeleteParameterCommand).callsFake((input: { Name: string }) => {
      if (!this.params.delete(input.Name)) throw new ParameterNotFound({ message: '', ...meta });
      return {};
    });
    mock.on(DescribeParametersCommand).callsFake((input: { ParameterFilters?: Array<{ Key: string; Values: string[] }>; NextToken?: string }) => {
      const path = input.ParameterFilters?.find((f) => f.Key === 'Path')?.Values[0] ?? '/';
      const rows = [...this.params.entries()]
        .filter(([n]) => n.startsWith(path === '/' ? '/' : `${path}/`))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([n, p]) => ({ Name: n, Type: 'SecureString', Version: p.versions.at(-1)?.version, Description: p.versions.at(-1)?.description, LastModifiedDate: p.versions.at(-1)?.modified, LastModifiedUser: p.versions.at(-1)?.user }));
      return this.#page(rows, input.NextToken, 'Parameters');
    });
    mock.on(GetParametersByPathCommand).callsFake((input: { Path: string; NextToken?: string; WithDecryption?: boolean }) => {
      const rows = [...this.params.entries()]
        .filter(([n]) => n.startsWith(input.Path === '/' ? '/' : `${input.Path}/`))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([n, p]) => ({ Name: n, Version: p.versions.at(-1)?.version, Value: input.WithDecryption === true ? p.versions.at(-1)?.value : 'ENCRYPTED', LastModifiedDate: p.versions.at(-1)?.modified }));
      return this.#page(rows, input.NextToken, 'Parameters');
    });
    mock.on(AddTagsToResourceCommand).callsFake((input: { ResourceId: string; Tags: Tag[] }) => {
      const p = this.params.get(input.ResourceId);
      if (p === undefined) throw Object.assign(new Error('x'), { name: 'InvalidResourceId' });
      p.tags = [...p.tags.filter((t) => !input.Tags.some((n) => n.Key === t.Key)), ...input.Tags];
      return {};
    });
    mock.on(ListTagsForResourceCommand).callsFake((input: { ResourceId: string }) => {
      const p = this.params.get(input.ResourceId);
      if (p === undefined) throw Object.assign(new Error('x'), { name: 'InvalidResourceId' });
      return { TagList: p.tags };
    });
  }

  /** Store a parameter as another tool would have written it (one version holding `value`). */
  seed(name: string, value: string, description?: string): void {
    this.params.set(name, { versions: [{ value, version: 1, labels: [], modified: new Date(), user: this.user, ...(description === undefined ? {} : { description }) }], tags: [] });
  }

  /** One label call on a parameter at a time; a call arriving while one works is TooManyUpdates. */
  async #serialised<T>(name: string, fn: () => T): Promise<T> {
    if (this.#busy.has(name)) throw new TooManyUpdates({ message: 'There are concurrent updates for a resource that supports one update at a time.', $metadata: {} });
    this.#busy.add(name);
    try {
      if (this.labelDelayMs > 0) await new Promise((r) => setTimeout(r, this.labelDelayMs));
      return fn();
    } finally {
      this.#busy.delete(name);
    }
  }

  #page<T>(rows: T[], token: string | undefined, key: string): Record<string, unknown> {
    const start = token === undefined ? 0 : Number(token);
    const end = start + this.pageSize;
    return { [key]: rows.slice(start, end), ...(end < rows.length ? { NextToken: String(end) } : {}) };
  }
}

/** What SSM returns for a SecureString without decryption: a base64 blob longer than the value (KMS envelope). */
function encrypted(value: string): string {
  return Buffer.concat([Buffer.alloc(100, 1), Buffer.from(value, 'utf8')]).toString('base64');
}
