#!/usr/bin/env bash
# Packs the library as npm would publish it, installs the tarball into a fresh user project
# and runs that project's own mocha suite against it: broken exports, missing files in the
# package or type-only leftovers fail here, not in users' apps.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
cp -r "$root/test/package/user-project/." "$work/project"
cd "$work/project"
version() { node -p "require('$root/package.json').devDependencies['$1']"; }
npm install --no-audit --no-fund --prefer-offline --silent \
  "$work/$tarball" "koa@$(version koa)" "chai@$(version chai)" "mocha@$(version mocha)" \
  "supertest@$(version supertest)"
npx --no-install mocha
