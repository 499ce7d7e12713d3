#!/usr/bin/env bash
# Regenerates the example renders shown in docs/rendering.md (run from the repository root).
set -euo pipefail
out=docs/images
gen() { cargo run --quiet -p ipt-gen -- "$@"; }
tmp=$(mktemp -d)
gen scene --template kitchen --seed 3 --out "$tmp/kitchen.json"
gen scene --template apartment_small --seed 1 --out "$tmp/apartment.json"
gen render --scene "$tmp/kitchen.json" --pose 0.7,1.5,0.7,-136,-15 --size 384 --viewable \
  --out $out/kitchen-rgb.png --ids $out/kitchen-ids.png --depth $out/kitchen-depth.png
gen render --scene "$tmp/apartment.json" --pose 4.45,1.5,3.1,57,-12 --size 384 --viewable \
  --out $out/apartment-rgb.png --ids $out/apartment-ids.png --depth $out/apartment-depth.png
gen render --scene "$tmp/apartment.json" --top-down --size 512 --viewable \
  --out $out/apartment-top.png --ids $out/apartment-top-ids.png
rm -r "$tmp"
