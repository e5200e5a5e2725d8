# bash completion for getmfs and getm. The options come from the program's own --help of
# the subcommand being completed, so they are always the installed version's.
_getmfs_options() {
  "$@" --help 2>/dev/null | grep -oE '(^|[ ,])--?[A-Za-z][-A-Za-z0-9]*' | tr -d ' ,' | sort -u
}

_getmfs() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prog="${COMP_WORDS[0]}" sub="" word opts
  if [[ "${prog##*/}" == getm ]]; then
    opts="$(_getmfs_options "$prog")"
  else
    for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
      case "$word" in
        get | mount | unmount | status | reload) sub="$word"; break ;;
      esac
    done
    if [[ -z "$sub" ]]; then
      mapfile -t COMPREPLY < <(compgen -W "get mount unmount status reload --help --version" -- "$cur")
      return
    fi
    opts="$(_getmfs_options "$prog" "$sub")"
  fi
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -o filenames -o bashdefault -F _getmfs getmfs getm
