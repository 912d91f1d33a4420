# shellcheck shell=bash
# Sourced by scripts/format.sh and scripts/tidy.sh: which files a change touches.
# xs_default_base: origin/main when it exists, else the repository's first commit.
# xs_changed_files BASE: tracked files changed since the merge base of BASE and HEAD (committed,
# staged or not) plus untracked, non-ignored files; deleted files are left out.

xs_default_base() {
    if git rev-parse --verify -q origin/main >/dev/null; then
        echo origin/main
    else
        git rev-list --max-parents=0 HEAD | tail -n 1
    fi
}

xs_changed_files() {
    local base=$1 mb
    if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
        echo "error: '$base' is not a commit" >&2
        return 1
    fi
    mb=$(git merge-base "$base" HEAD)
    {
        git diff --name-only --diff-filter=d "$mb"
        git ls-files --others --exclude-standard
    } | sort -u | while IFS= read -r f; do
        [[ -f "$f" ]] && printf '%s\n' "$f"
    done
}
