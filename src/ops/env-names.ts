/**
 * Credentials as environment variables (`credstash exec`, `credstash env`, and the `dotenv` output of
 * `get`/`getall`/`export`): the id, less an optional prefix, upper-cased, with every character that is not an
 * ASCII letter or digit turned into `_`, so every name is a valid shell identifier. Two ids that map to one
 * name are an error naming both, never a silent overwrite. A name that changes how a program starts, what it
 * loads or where it connects (PROTECTED_ENV_NAMES / PROTECTED_ENV_PREFIXES: `LD_PRELOAD`, `NODE_OPTIONS`,
 * `PATH`, `IFS`, `PROMPT_COMMAND`, ...) is refused unless the caller allows it by name: anyone who can add an
 * item to a table, even without any key, chooses the names.
 */
import { ValidationError } from '../core/errors.js';
import type { StoredCredential } from '../core/types.js';
import { valueToText } from '../core/value.js';

/**
 * `myapp.db-password` -> `MYAPP_DB_PASSWORD`; a leading digit gets a `_` in front (`1x` -> `_1X`).
 *
 * @example
 * ```ts
 * envName('myapp.db-password'); // 'MYAPP_DB_PASSWORD'
 * ```
 */
export function envName(id: string): string {
  const name = id.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A POSIX shell identifier (what `NAME=value` and `export NAME=...` accept as an assignment). */
export const SHELL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables a credential may not set unless allowed by name. They make the dynamic loader or an interpreter
 * load code (`LD_PRELOAD`, `NODE_OPTIONS`, `PYTHONSTARTUP`, `JAVA_TOOL_OPTIONS`, `GCONV_PATH`, ...), change
 * which program runs or how a shell parses and prompts (`PATH`, `IFS`, `BASH_ENV`, `ENV`, `PS1`/`PS4`,
 * `PROMPT_COMMAND`, `SHELLOPTS`, readonly and special shell variables), or where a program reads its config,
 * sends its traffic or which certificates it trusts (`HOME`, `TMPDIR`, proxies, CA bundles, AWS endpoints,
 * `EDITOR`/`PAGER`/`LESSOPEN`), and credstash's own settings (`CREDSTASH_*`, `VAULT_*`). glibc's list of
 * variables it drops for setuid programs is included whole.
 */
export const PROTECTED_ENV_NAMES: ReadonlySet<string> = new Set([
  // shells: parsing, start-up files, prompts (expanded, so they run $(...)), special and readonly variables
  '_', 'BASH', 'ENV', 'IFS', 'PATH', 'CDPATH', 'GLOBIGNORE', 'SHELLOPTS', 'BASHOPTS', 'PROMPT_COMMAND', 'PROMPT_DIRTRIM',
  'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'FPATH', 'INPUTRC', 'EXECIGNORE', 'FUNCNEST', 'POSIXLY_CORRECT', 'TMOUT', 'MAIL',
  'MAILPATH', 'MAILCHECK', 'OPTIND', 'OPTARG', 'OPTERR', 'UID', 'EUID', 'PPID', 'GROUPS', 'SHLVL', 'HOSTNAME', 'HOSTTYPE',
  'MACHTYPE', 'OSTYPE', 'RANDOM', 'SRANDOM', 'SECONDS', 'LINENO', 'EPOCHSECONDS', 'EPOCHREALTIME', 'DIRSTACK', 'FUNCNAME',
  'PIPESTATUS', 'REPLY', 'COPROC', 'COLUMNS', 'LINES', 'ZDOTDIR', 'KSH_VERSION',
  // who and where: home, shell, working and temp folders, terminal, locale
  'HOME', 'SHELL', 'USER', 'LOGNAME', 'PWD', 'OLDPWD', 'TMPDIR', 'TERM', 'TERMINFO', 'TERMINFO_DIRS', 'TERMCAP', 'LANG',
  'LANGUAGE', 'TZ',
  // glibc's unsecure variables (besides LD_* and MALLOC_*)
  'GCONV_PATH', 'GETCONF_DIR', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'NIS_PATH', 'NLSPATH', 'RESOLV_HOST_CONF',
  'RES_OPTIONS', 'TZDIR',
  // interpreters and tools that load or run code named in a variable
  'CLASSPATH', 'TCLLIBPATH', 'EDITOR', 'VISUAL', 'PAGER', 'MANPAGER', 'MANOPT', 'BROWSER', 'SUDO_ASKPASS', 'SUDO_EDITOR',
  'SSH_ASKPASS', 'SSH_ASKPASS_REQUIRE', 'SSH_AUTH_SOCK', 'GNUPGHOME', 'KUBECONFIG', 'DOCKER_HOST', 'DOCKER_CONFIG',
  'MAKEFLAGS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE', 'CURL_HOME', 'PHPRC',
  'HISTFILE', 'HISTFILESIZE', 'HISTSIZE', 'HISTCONTROL', 'HISTIGNORE', 'HISTTIMEFORMAT', 'HISTCMD',
  'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESSKEYIN', 'LESSKEY_SYSTEM', 'LESSEDIT', 'LESSSECURE', 'LESSHISTFILE',
  // where traffic goes
  'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'FTP_PROXY',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CA_BUNDLE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_SDK_LOAD_CONFIG',
]);

/** Prefixes of protected variables (see PROTECTED_ENV_NAMES). */
export const PROTECTED_ENV_PREFIXES: readonly string[] = [
  'LD_', 'DYLD_', 'MALLOC_', 'GLIBC_', 'BASH_', 'LC_', 'READLINE_', 'COMP_', 'XDG_',
  'NODE_', 'NPM_CONFIG_', 'PYTHON', 'PERL', 'RUBY', 'GEM_', 'BUNDLE_', 'LUA_', 'JAVA_', '_JAVA_', 'JDK_', 'PHP_',
  'DOTNET_', 'COREHOST_', 'CORECLR_', 'COMPLUS_', 'COR_', 'GIT_', 'OPENSSL_', 'KRB5',
  'AWS_ENDPOINT_URL', 'AWS_CONTAINER_', 'CREDSTASH_', 'VAULT_',
];

/** Whether `name` is a protected variable (PROTECTED_ENV_NAMES or one of PROTECTED_ENV_PREFIXES). */
export function isProtectedEnvName(name: string): boolean {
  return PROTECTED_ENV_NAMES.has(name) || PROTECTED_ENV_PREFIXES.some((p) => name.startsWith(p));
}

export interface EnvOptions {
  /** Only ids starting with this; it is removed before the name is built (`-p myapp.prod.`). */
  prefix?: string;
  /** Protected names that may be set all the same, each spelled as the variable (`LD_LIBRARY_PATH`). */
  allow?: readonly string[];
}

/**
 * Map credentials to `NAME -> value text` (JSON values as compact JSON, bytes as base64).
 *
 * @example
 * ```ts
 * const { credentials } = await store.getAllCredentials({ pattern: 'myapp.prod.*' });
 * const env = credentialsToEnv(credentials, { prefix: 'myapp.prod.' }); // Map { 'DB_PASSWORD' => '...' }
 * spawn('node', ['server.js'], { env: { ...process.env, ...Object.fromEntries(env) } });
 * ```
 * @throws ValidationError when two ids give the same name, an id is nothing but the prefix, a name is
 *   protected and not in `allow`, or a value holds NUL
 */
export function credentialsToEnv(creds: readonly StoredCredential[], opts: EnvOptions = {}): Map<string, string> {
  const out = new Map<string, string>();
  const from = new Map<string, string>();
  const prefix = opts.prefix ?? '';
  const allow = new Set(opts.allow ?? []);
  for (const c of creds) {
    if (!c.id.startsWith(prefix)) continue;
    const rest = c.id.slice(prefix.length);
    if (rest === '') throw new ValidationError(`credential "${c.id}" is the prefix itself; it has no name left for an environment variable`);
    const name = envName(rest);
    const clash = from.get(name);
    if (clash !== undefined) {
      throw new ValidationError(`credentials "${clash}" and "${c.id}" both map to the environment variable ${name}; rename one or narrow the selection`);
    }
    if (isProtectedEnvName(name) && !allow.has(name)) {
      throw new ValidationError(
        `credential "${c.id}" would set ${name}, which changes how programs start, what they load or where they connect; allow it by name (--allow-env ${name}) if that is meant`,
        { credentialId: c.id },
      );
    }
    const text = valueToText(c.value);
    if (text.includes('\u0000')) throw new ValidationError(`value of credential "${c.id}" contains a NUL character and cannot be an environment variable`, { credentialId: c.id });
    from.set(name, c.id);
    out.set(name, text);
  }
  return out;
}
