/**
 * The completion scripts: thin wrappers that hand the words typed so far to the CLI's hidden
 * `__complete` verb, which prints one candidate a line (`word`, or `word<TAB>description`), and
 * offer what it prints. The verbs, options and names all come from the CLI: nothing here lists
 * them.
 */

/** The hidden verb the scripts call back. */
export const completeVerb = "__complete";

/**
 * bash: the words are rebuilt from COMP_LINE, since COMP_WORDS splits `--address=unix:/x` at
 * `=` and `:` (COMP_WORDBREAKS). bash replaces only the last piece of such a word, so what the
 * word holds before that piece is taken off each candidate.
 */
function bash(programs: readonly string[]): string {
  return `# bash completion for ${programs.join(", ")} (procmgr)
# Load it with: source <(${programs[0]} completion bash)
_procmgr_complete() {
  local line=\${COMP_LINE:0:COMP_POINT} word candidate lead i
  local -a words=() lines=()
  line=\${line#"\${COMP_WORDS[0]}"}
  for ((i = 1; i <= COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ \${#words[@]} -eq 0 || $line == [[:space:]]* ]]; then
      words+=("$word")
    else
      words[\${#words[@]} - 1]+=$word
    fi
    line=\${line#"\${line%%[![:space:]]*}"}
    line=\${line#"$word"}
  done
  word=\${COMP_WORDS[COMP_CWORD]}
  lead=\${words[\${#words[@]} - 1]}
  lead=\${lead:0:\${#lead} - \${#word}}
  mapfile -t lines < <("\${COMP_WORDS[0]}" ${completeVerb} "\${words[@]}" 2>/dev/null)
  COMPREPLY=()
  for candidate in "\${lines[@]}"; do
    candidate=\${candidate%%$'\\t'*}
    [[ $candidate == "$lead"* ]] || continue
    printf -v candidate '%q' "\${candidate#"$lead"}"
    COMPREPLY+=("$candidate")
  done
}
complete -F _procmgr_complete ${programs.join(" ")}
`;
}

/** zsh: `#compdef` for fpath installs, `compdef` when sourced; `_describe` shows descriptions. */
function zsh(programs: readonly string[]): string {
  return `#compdef ${programs.join(" ")}
# zsh completion for ${programs.join(", ")} (procmgr)
# Install it with: ${programs[0]} completion zsh > ~/.zfunc/_${programs[0]}  (~/.zfunc in fpath)
_procmgr_complete() {
  local -a lines candidates
  local line word
  lines=("\${(@f)$(\${words[1]} ${completeVerb} "\${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    [[ -n $line ]] || continue
    word=\${line%%$'\\t'*}
    word=\${word//:/\\\\:}
    if [[ $line == *$'\\t'* && -n \${line#*$'\\t'} ]]; then
      candidates+=("$word:\${line#*$'\\t'}")
    else
      candidates+=("$word")
    fi
  done
  (( \${#candidates} )) && _describe -t procmgr '${programs[0]}' candidates
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _procmgr_complete "$@"
else
  compdef _procmgr_complete ${programs.join(" ")}
fi
`;
}

/** fish: shows the descriptions after the tab as they are. */
function fish(programs: readonly string[]): string {
  const registrations = programs
    .map((p) => `complete -c ${p} -f -a '(__procmgr_complete)'`)
    .join("\n");
  return `# fish completion for ${programs.join(", ")} (procmgr)
# Install it with: ${programs[0]} completion fish > ~/.config/fish/completions/${programs[0]}.fish
function __procmgr_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    $words[1] ${completeVerb} $words[2..-1] "$cur" 2>/dev/null
end
${registrations}
`;
}

const scripts = { bash, zsh, fish } as const;

export type Shell = keyof typeof scripts;

/** The shells there is a script for. */
export const shells = Object.keys(scripts) as Shell[];

export function isShell(name: string): name is Shell {
  return Object.hasOwn(scripts, name);
}

/** The completion script of `shell`, registered for each of the program names. */
export function completionScript(shell: Shell, programs: readonly string[]): string {
  return scripts[shell](programs);
}
