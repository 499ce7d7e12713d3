#!/bin/sh
# Regenerates the rendered examples shown in docs/tasks.md (run from anywhere, after a build).
# PET: two examples of the living room (one with the floor X, one with the arrow);
# PT: the three variants in the small apartment; MVC: a rotation and a square in the office.
set -eu
cd "$(dirname "$0")/../../.."
out=docs/images/tasks
gen=target/debug/ipt-gen
find "$out" -mindepth 1 -type d -exec rm -rf {} +
"$gen" sample --task pet --template living_room --seed 1 --count 4 --resolution 256 --out "$out"
"$gen" sample --task pt --template apartment_small --seed 1 --count 3 --resolution 256 --out "$out"
"$gen" sample --task mvc --template office --seed 1 --count 5 --resolution 256 --out "$out"
# Keep one PET example per variant and the first MVC example of each trajectory.
for dir in "$out"/pet-*; do
    variant=$(sed -n 's/^  "variant": "\(.*\)",$/\1/p' "$dir/example.json")
    if [ -e "$out/.kept-$variant" ]; then rm -rf "$dir"; else touch "$out/.kept-$variant"; fi
done
rm -f "$out"/.kept-*
rm -rf "$out"/mvc-office-1-001 "$out"/mvc-office-1-002 "$out"/mvc-office-1-003
