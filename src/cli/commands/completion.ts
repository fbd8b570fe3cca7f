/**
 * `credstash completion bash|zsh`: print a shell completion script for credstash's commands and options.
 * The script is static: it is generated from the command table and each command's options when this
 * command runs, and completing a word never runs credstash (no store is opened, no credential name is ever
 * offered). Options with fixed choices (`get -f`) complete their choices; an option that takes another
 * value, and every positional argument, fall back to the shell's file name completion. After exec's `--`,
 * the words belong to the program run, so only file names are offered.
 *
 * bash: `eval "$(credstash completion bash)"` in ~/.bashrc, or save it as
 * ~/.local/share/bash-completion/completions/credstash. zsh: `eval "$(credstash completion zsh)"` in
 * ~/.zshrc (after compinit); it uses zsh's bashcompinit.
 */
import { recordOptions, type OptionSpec } from '../argv.js';
import type { GlobalArgs } from '../context.js';
import { beforeCommandSpecs, globalOptionSpecs } from '../global-flags.js';
import { UsageError } from '../errors.js';
import { commandName, commands } from './index.js';
import type { CommandImpl } from './index.js';

const SHELLS = ['bash', 'zsh'] as const;
type Shell = (typeof SHELLS)[number];

interface CompletionArgs extends GlobalArgs {
  shell: string;
}

/** Accepted for Python credstash's scripts but not shown in help: not offered either. */
const HIDDEN = new Set(['--log-level', '--log-file']);

export const completionCommand: CommandImpl<CompletionArgs> = {
  builder: (y) => y.positional('shell', { type: 'string', describe: `the shell to complete in: ${SHELLS.join(' or ')}`, demandOption: true }),
  handler: async (argv) => {
    const shell = SHELLS.find((s) => s === argv.shell);
    if (shell === undefined) throw new UsageError(`completion: the shell must be one of ${SHELLS.join(', ')}`);
    argv.io.stdout.write(await completionScript(shell));
  },
};

/** A word list for `compgen -W`: option names and choices are plain words, so no quoting is needed. */
function words(list: Iterable<string>): string {
  return [...new Set(list)].filter((w) => /^[A-Za-z0-9_.=-]+$/.test(w)).join(' ');
}

const spellings = (specs: readonly OptionSpec[]): string[] => specs.flatMap((s) => s.names).filter((n) => !HIDDEN.has(n));

/**
 * The completion script for `shell`, from the command table and every command's options.
 * @param shell `bash` or `zsh`
 */
export async function completionScript(shell: Shell): Promise<string> {
  const globals = globalOptionSpecs();
  // Before the command word, -n and -p are --arn and --profile (as in Python credstash).
  const beforeCommand = beforeCommandSpecs().flatMap((s) => s.names);
  const globalSpellings = [...spellings(globals), ...beforeCommand, '-h', '--help', '--version'];
  const globalValued = [...globals.filter((s) => s.takesValue).flatMap((s) => s.names), ...beforeCommand];
  const cases: string[] = [];
  const choiceCases: string[] = [];
  for (const entry of commands) {
    const name = commandName(entry);
    const mod = await entry.load();
    const specs = typeof mod.builder === 'function' ? recordOptions(mod.builder) : [];
    const opts = words([...spellings(specs), '-h', '--help', ...spellings(globals)]);
    const positional = name === 'completion' ? words(SHELLS) : '';
    cases.push(`    ${name}) opts="${opts}"; args="${positional}" ;;`);
    for (const spec of specs) {
      if (spec.choices === undefined || spec.choices.length === 0) continue;
      const pattern = spec.names.map((n) => `"${name} ${n}"`).join('|');
      choiceCases.push(`    ${pattern}) COMPREPLY=($(compgen -W "${words(spec.choices)}" -- "$cur")); return 0 ;;`);
    }
  }
  const fn = [
    '_credstash_completion() {',
    '  local cur prev cmd w i opts args',
    '  COMPREPLY=()',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev=""',
    '  if (( COMP_CWORD > 0 )); then prev="${COMP_WORDS[COMP_CWORD-1]}"; fi',
    '  cmd=""',
    '  i=1',
    '  # the command word: the first word that is neither an option nor the value of a global option',
    '  while (( i < COMP_CWORD )); do',
    '    w="${COMP_WORDS[i]}"',
    '    case "$w" in',
    `      ${globalValued.join('|')}) i=$((i + 2)); continue ;;`,
    '      -*) ;;',
    '      *) cmd="$w"; break ;;',
    '    esac',
    '    i=$((i + 1))',
    '  done',
    '  if [[ -z "$cmd" ]]; then',
    `    if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${words(globalSpellings)}" -- "$cur"));`,
    `    else COMPREPLY=($(compgen -W "${words(commands.map(commandName))}" -- "$cur")); fi`,
    '    return 0',
    '  fi',
    '  # after --, every word is a positional (exec: the program to run): file names only',
    '  for (( w = i + 1; w < COMP_CWORD; w++ )); do',
    '    if [[ "${COMP_WORDS[w]}" == "--" ]]; then return 0; fi',
    '  done',
    '  case "$cmd $prev" in',
    ...choiceCases,
    '  esac',
    '  opts=""',
    '  args=""',
    '  case "$cmd" in',
    ...cases,
    '    *) return 0 ;;',
    '  esac',
    '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur"));',
    '  elif [[ -n "$args" ]]; then COMPREPLY=($(compgen -W "$args" -- "$cur")); fi',
    '  return 0',
    '}',
    'complete -o default -F _credstash_completion credstash',
  ];
  const header =
    shell === 'bash'
      ? ['# bash completion for credstash: eval "$(credstash completion bash)" in ~/.bashrc,', '# or save this as ~/.local/share/bash-completion/completions/credstash']
      : ['#compdef credstash', '# zsh completion for credstash: eval "$(credstash completion zsh)" in ~/.zshrc, after compinit', 'autoload -U +X bashcompinit && bashcompinit'];
  return `${[...header, ...fn].join('\n')}\n`;
}
