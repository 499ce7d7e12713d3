#!/bin/sh
# Regenerates the rendered examples shown in docs/tasks.md (run from anywhere, after a build).
# PET: two examples of the living room (one with the floor X, one with the arrow);
# PT: the three variants in the small apartment (examples 3, 5 and 7: longer paths);
# MVC: a rotation counting 3 and a square counting 4 or more in the office (examples 2 and 7).
set -eu
cd "$(dirname "$0")/../../.."
out=docs/images/tasks
gen="${CARGO_TARGET_DIR:-target}/debug/ipt-gen"
find "$out" -mindepth 1 -type d -exec rm -rf {} +
"$gen" sample --task pet --template living_room --seed 1 --count 4 --resolution 256 --out "$out"
"$gen" sample --task pt --template apartment_small --seed 1 --count 8 --resolution 256 --out "$out"
"$gen" sample --task mvc --template office --seed 1 --count 8 --resolution 256 --out "$out"
# Keep one PET example per variant and the chosen PT and MVC examples.
for dir in "$out"/pet-*; do
    variant=$(sed -n 's/^  "variant": "\(.*\)",$/\1/p' "$dir/example.json")
    if [ -e "$out/.kept-$variant" ]; then rm -rf "$dir"; else touch "$out/.kept-$variant"; fi
done
rm -f "$out"/.kept-*
for k in 0 1 2 4 6; do rm -rf "$out/pt-apartment_small-1-00$k"; done
for k in 0 1 3 4 5 6; do rm -rf "$out/mvc-office-1-00$k"; done
# The examples' pages (written by `sample` beside each example) replace the Examples section
# of docs/tasks.md, between its introduction and the next section.
pages=$(mktemp)
for dir in "$out"/pet-* "$out"/pt-* "$out"/mvc-*; do
    sed "s#](\([a-z_0-9]*\.png\))#](images/tasks/$(basename "$dir")/\1)#g" "$dir/example.md" >>"$pages"
    echo >>"$pages"
    rm "$dir/example.md"
done
awk -v pages="$pages" '
    /^## Examples$/ { print; skipping = 1; next }
    skipping && /^### / && !done { while ((getline line < pages) > 0) print line; done = 1; next }
    skipping && /^## / { skipping = 0 }
    skipping && done { next }
    { print }
' docs/tasks.md >docs/tasks.md.new
mv docs/tasks.md.new docs/tasks.md
rm "$pages"
