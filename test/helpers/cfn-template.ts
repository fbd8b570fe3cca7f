/**
 * Load a CloudFormation YAML template (short-form tags included) and render it for given parameter values:
 * intrinsic functions are evaluated the way CloudFormation would, with symbolic stand-ins for what only a
 * deployment knows (`<CredentialTable.Arn>`, `<ref:CredentialKey>`). Enough for the templates in infra/.
 */
import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

export type Node = unknown;
export interface Template {
  Parameters?: Record<string, { Type: string; Default?: string; AllowedPattern?: string }>;
  Conditions?: Record<string, Node>;
  Resources: Record<string, { Type: string; Properties?: Record<string, Node>; DeletionPolicy?: string; UpdateReplacePolicy?: string; Condition?: string }>;
  Outputs?: Record<string, { Value: Node; Condition?: string }>;
  [k: string]: unknown;
}

const SCALAR_FNS = ['Ref', 'Sub', 'GetAtt', 'Base64', 'ImportValue', 'Condition', 'GetAZs'];
const SEQ_FNS = ['If', 'Equals', 'Not', 'And', 'Or', 'Join', 'Select', 'Split', 'Sub', 'FindInMap', 'GetAtt', 'Cidr'];

function fnName(short: string): string {
  return short === 'Ref' || short === 'Condition' ? short : `Fn::${short}`;
}

const CFN_TAGS: Tags = [
  ...SCALAR_FNS.map((n) => ({ tag: `!${n}`, resolve: (v: string) => ({ [fnName(n)]: n === 'GetAtt' ? v.split('.') : v }) })),
  ...SEQ_FNS.map((n) => ({
    tag: `!${n}`,
    collection: 'seq' as const,
    resolve: (v: { toJSON(): unknown }) => ({ [fnName(n)]: v.toJSON() }),
  })),
] as Tags;

export function loadTemplate(path: string): Template {
  return parse(readFileSync(path, 'utf8'), { customTags: CFN_TAGS }) as Template;
}

const NO_VALUE = Symbol('AWS::NoValue');
export const PSEUDO = { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws', 'AWS::StackName': 'credstash' } as const;

/** Evaluate every intrinsic function in the template for these parameter values. */
export function renderTemplate(t: Template, overrides: Record<string, string> = {}): Template {
  const params: Record<string, string> = {};
  for (const [k, p] of Object.entries(t.Parameters ?? {})) {
    const v = overrides[k] ?? p.Default;
    if (v === undefined) throw new Error(`parameter ${k} has no value`);
    if (p.AllowedPattern !== undefined && !new RegExp(`^(?:${p.AllowedPattern})$`).test(v)) throw new Error(`parameter ${k}: "${v}" fails AllowedPattern`);
    params[k] = v;
  }
  const conditions = new Map<string, boolean>();
  const ref = (name: string): unknown => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in PSEUDO) return PSEUDO[name as keyof typeof PSEUDO];
    if (name in params) return params[name];
    if (name in t.Resources) return `<ref:${name}>`;
    throw new Error(`Ref to unknown name ${name}`);
  };
  const condition = (name: string): boolean => {
    const c = conditions.get(name);
    if (c !== undefined) return c;
    const node = t.Conditions?.[name];
    if (node === undefined) throw new Error(`unknown condition ${name}`);
    const v = ev(node);
    if (typeof v !== 'boolean') throw new Error(`condition ${name} is not boolean`);
    conditions.set(name, v);
    return v;
  };
  const sub = (s: string, vars: Record<string, unknown> = {}): string =>
    s.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
      if (name in vars) return String(vars[name]);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [res, att] = name.split('.');
        if (!(res! in t.Resources)) throw new Error(`Sub GetAtt of unknown resource ${res}`);
        return `<${res}.${att}>`;
      }
      const v = ref(name);
      if (typeof v !== 'string') throw new Error(`Sub of non-string ${name}`);
      return v;
    });
  const ev = (n: Node): unknown => {
    if (Array.isArray(n)) return n.map(ev).filter((x) => x !== NO_VALUE);
    if (n === null || typeof n !== 'object') return n;
    const o = n as Record<string, Node>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const a = o[k];
      switch (k) {
        case 'Ref': return ref(a as string);
        case 'Condition': if (typeof a === 'string' && t.Conditions?.[a] !== undefined) return condition(a); break;
        case 'Fn::GetAtt': {
          const [res, att] = a as [string, string];
          if (!(res in t.Resources)) throw new Error(`GetAtt of unknown resource ${res}`);
          return `<${res}.${att}>`;
        }
        case 'Fn::Sub': return Array.isArray(a) ? sub(a[0] as string, ev(a[1]) as Record<string, unknown>) : sub(a as string);
        case 'Fn::If': {
          const [c, yes, no] = a as [string, Node, Node];
          return condition(c) ? ev(yes) : ev(no);
        }
        case 'Fn::Equals': { const [x, y] = (a as Node[]).map(ev); return x === y; }
        case 'Fn::Not': return !(ev((a as Node[])[0]) as boolean);
        case 'Fn::And': return (a as Node[]).every((x) => ev(x) === true);
        case 'Fn::Or': return (a as Node[]).some((x) => ev(x) === true);
        case 'Fn::Join': { const [d, list] = a as [string, Node]; return (ev(list) as string[]).join(d); }
        case 'Fn::Select': { const [i, list] = a as [Node, Node]; return (ev(list) as unknown[])[Number(ev(i))]; }
        default:
          if (k.startsWith('Fn::')) throw new Error(`renderer does not know ${k}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const r = ev(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  };
  const rendered: Template = { ...t, Resources: {} };
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Condition !== undefined && !condition(r.Condition)) continue;
    rendered.Resources[id] = ev(r) as Template['Resources'][string];
  }
  if (t.Outputs !== undefined) {
    rendered.Outputs = {};
    for (const [id, o] of Object.entries(t.Outputs)) {
      if (o.Condition !== undefined && !condition(o.Condition)) continue;
      rendered.Outputs[id] = ev(o) as { Value: Node };
    }
  }
  return rendered;
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
  Principal?: unknown;
}

export function statementsOf(t: Template, policyId: string): Statement[] {
  const r = t.Resources[policyId];
  if (r === undefined) throw new Error(`no resource ${policyId}`);
  return ((r.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

export function asList(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}
