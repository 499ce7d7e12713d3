#!/bin/sh
# Regenerates the rendered examples shown in docs/tasks.md (run from anywhere, after a build).
# PET: two examples of the living room (one with the floor X, one with the arrow);
# PT: the three variants in the small apartment (examples 3, 5 and 7: longer paths);
# MVC: a rotation counting 3 and a square counting 4 or more in the office (examples 2 and 7).
set -eu
cd "$(dirname "$0")/../../.."
out=docs/images/tasks
gen=target/debug/ipt-gen
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
