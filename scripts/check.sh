#!/usr/bin/env bash
# The static checks CI runs before the tests (and pre-commit runs before a
# commit): ruff lint, ruff format, the package floors (import-linter) and mypy.
#
# The folders germplasm/, genomics/, ... install as breedhub.germplasm, ...
# (setup.cfg's package_dir); import-linter and mypy read packages from disk, so
# they check a tree of hard links laid out as installed, in build/typecheck/.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$PWD/.venv/bin/python
[[ -x $py ]] || py=python3

tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree"
cp -al breedhub "$tree/breedhub"
for pkg in germplasm genomics predict pipelines web; do
  cp -al "$pkg" "$tree/breedhub/$pkg"
done
find "$tree" -name __pycache__ -prune -exec rm -rf {} +

echo "== ruff check"
$py -m ruff check .
echo "== ruff format --check"
$py -m ruff format --check .
echo "== import contract (floors)"
(cd "$tree" && PYTHONPATH=. "$(dirname "$py")/lint-imports" ../../pyproject.toml | grep -v "^[[:space:]]*[╔╚║└]" | grep -v "^$")
echo "== mypy"
(cd "$tree" && MYPYPATH=. $py -m mypy --config-file ../../pyproject.toml -p breedhub)
