/**
 * An in-memory model of the SSM Parameter Store calls SSMStore makes, installed on an aws-sdk-client-mock
 * (no hand-rolled client; the mock's callsFake answers like SSM would). It assigns versions,
 * keeps the newest 100, enforces Overwrite, refuses Tags with Overwrite=true, keeps the previous Description
 * on an overwrite that sends none (as SSM does), and pages every listing.
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
  ParameterVersionNotFound,
  PutParameterCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SSMClientResolvedConfig,
  type Tag,
} from '@aws-sdk/client-ssm';
import type { AwsStub } from 'aws-sdk-client-mock';

interface Version { value: string; version: number; description?: string; keyId?: string }
interface Param { versions: Version[]; tags: Tag[] }

export class FakeSsm {
  readonly params = new Map<string, Param>();
  /** Page size the fake uses for every paginated call (small, so tests cross pages). */
  pageSize = 2;

  install(mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig>): void {
    const meta = { $metadata: {} };
    mock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; Overwrite?: boolean; Description?: string; KeyId?: string; Tags?: Tag[] }) => {
      if (input.Tags !== undefined && input.Overwrite === true) {
        throw Object.assign(new Error('Invalid request: tags and overwrite can\'t be used together.'), { name: 'ValidationException' });
      }
      const p = this.params.get(input.Name);
      if (p !== undefined && input.Overwrite !== true) throw new ParameterAlreadyExists({ message: 'The parameter already exists.', ...meta });
      const param = p ?? { versions: [], tags: input.Tags ?? [] };
      const version = (param.versions.at(-1)?.version ?? 0) + 1;
      // As SSM does: an overwrite without Description keeps the previous version's Description.
      const description = input.Description ?? param.versions.at(-1)?.description;
      param.versions.push({ value: input.Value, version, ...(description === undefined ? {} : { description }), ...(input.KeyId === undefined ? {} : { keyId: input.KeyId }) });
      if (param.versions.length > 100) param.versions.shift();
      this.params.set(input.Name, param);
      return { Version: version, Tier: 'Standard' };
    });
    mock.on(GetParameterCommand).callsFake((input: { Name: string }) => {
      const m = /^(.*):(\d+)$/.exec(input.Name);
      const name = m === null ? input.Name : (m[1] as string);
      const p = this.params.get(name);
      if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
      const v = m === null ? p.versions.at(-1) : p.versions.find((x) => x.version === Number(m[2]));
      if (v === undefined) throw new ParameterVersionNotFound({ message: '', ...meta });
      return { Parameter: { Name: name, Type: 'SecureString', Value: v.value, Version: v.version } };
    });
    mock.on(GetParameterHistoryCommand).callsFake((input: { Name: string; NextToken?: string }) => {
      const p = this.params.get(input.Name);
      if (p === undefined) throw new ParameterNotFound({ message: '', ...meta });
      return this.#page(p.versions.map((v) => ({ Name: input.Name, Version: v.version, Description: v.description, Value: 'ENCRYPTED' })), input.NextToken, 'Parameters');
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
        .map(([n, p]) => ({ Name: n, Version: p.versions.at(-1)?.version, Description: p.versions.at(-1)?.description }));
      return this.#page(rows, input.NextToken, 'Parameters');
    });
    mock.on(GetParametersByPathCommand).callsFake((input: { Path: string; NextToken?: string; WithDecryption?: boolean }) => {
      const rows = [...this.params.entries()]
        .filter(([n]) => n.startsWith(input.Path === '/' ? '/' : `${input.Path}/`))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([n, p]) => ({ Name: n, Version: p.versions.at(-1)?.version, Value: input.WithDecryption === true ? p.versions.at(-1)?.value : 'ENCRYPTED' }));
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

  #page<T>(rows: T[], token: string | undefined, key: string): Record<string, unknown> {
    const start = token === undefined ? 0 : Number(token);
    const end = start + this.pageSize;
    return { [key]: rows.slice(start, end), ...(end < rows.length ? { NextToken: String(end) } : {}) };
  }
}
