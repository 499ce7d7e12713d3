#!/bin/sh
# Regenerates docs/images/assets/*.png, shown in docs/templates.md: every built-in template
# (seed 3) from above, drawn with primitives (left) and with the furniture library's meshes
# (right; import it first with `scripts/setup --assets`), and a first-person view of each.
# Run from anywhere after a build; needs the Python environment of scripts/python-env (PIL).
set -eu
cd "$(dirname "$0")/../../.."
out=docs/images/assets
gen="${CARGO_TARGET_DIR:-target}/debug/ipt-gen"
python="${IPT_PYTHON:-$HOME/.cache/ipt-toolkit/python/bin/python}"
work=$(mktemp -d)
for template in $("$gen" templates | sed -n 's/^  \([a-z_]*\) .*rooms:.*/\1/p'); do
    for looks in primitives meshes; do
        "$gen" --assets "$looks" scene --template "$template" --seed 3 --out "$work/$template-$looks.json" >/dev/null
        "$gen" --assets "$looks" render --scene "$work/$template-$looks.json" --top-down --hide-upper-walls \
            --size 360 --out "$work/$template-$looks.png" >/dev/null
    done
    "$python" - "$work/$template-primitives.png" "$work/$template-meshes.png" "$out/$template.png" <<'PY'
import sys
from PIL import Image
left, right = (Image.open(p).convert("RGB") for p in sys.argv[1:3])
height = max(left.height, right.height)
both = Image.new("RGB", (left.width + right.width + 8, height), "white")
both.paste(left, (0, 0))
both.paste(right, (left.width + 8, 0))
both.save(sys.argv[3], optimize=True)
PY
done
rm -rf "$work"
