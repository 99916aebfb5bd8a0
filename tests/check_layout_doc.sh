#!/usr/bin/env bash
# Re-runs every `screenerctl layout` command quoted in docs/segment-layout.md and fails if the
# block quoted after it differs from what the code prints now.
# usage: check_layout_doc.sh SCREENERCTL DOC
set -euo pipefail
ctl=$1 doc=$2
checked=0
while IFS= read -r marker; do
  args=${marker#<!-- layout: }
  args=${args% -->}
  expected=$(awk -v m="$marker" '$0==m {found=1; next} found && /^```text$/ {inside=1; next}
                                  inside && /^```$/ {exit} inside {print}' "$doc")
  # shellcheck disable=SC2086
  actual=$("$ctl" layout $args)
  if [ "$expected" != "$actual" ]; then
    echo "docs out of date for 'screenerctl layout $args':"
    diff <(echo "$expected") <(echo "$actual") || true
    exit 1
  fi
  checked=$((checked + 1))
done < <(grep '^<!-- layout: ' "$doc")
[ "$checked" -ge 2 ] || { echo "expected at least 2 quoted layouts in $doc, found $checked"; exit 1; }
echo "$checked quoted layouts match screenerctl"
