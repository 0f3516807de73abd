#!/usr/bin/env bash
# Packs the library as npm would publish it and checks the tarball as its users get it:
#   1. contents and size (a committed budget, below);
#   2. publint, and attw with the esm-only profile (the package is ESM-only: node16 from ESM and
#      bundler resolution must be green; CommonJS and node10 are out of scope);
#   3. installed into a fresh user project (with Koa 3 and no @types of its own), its own mocha
#      suite runs against it, Koa's copy of content-disposition is shared, and a stack trace
#      from the library resolves through the shipped source maps to a TypeScript line;
#   4. the public API type test (test/types/) compiles in that strict project with the oldest
#      TypeScript the package claims (pinned in test/types/oldest/), the project's own, and the
#      newest published (pinned in test/types/latest/), under NodeNext and Bundler resolution,
#      with Koa 3's typings and again with Koa 2's.
# Broken exports, missing files, leaked `any` types or type-only leftovers fail here, not in
# users' apps.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s (at %ss)\n' "$*" "$SECONDS"; }
fail() {
  printf 'check-package: %s\n' "$*" >&2
  exit 1
}

# Size budget of the tarball, in bytes. Measured on 2026-12-01 (0.1.0, 199 files, source maps
# with their sources inlined): 209,163 packed, 735,565 unpacked. Raised the same day to
# 284,540 / 980,684 (265 files) by three features: signed links (src/signing), download events
# and OpenTelemetry (src/events) and precompressed variants, each with inlined sources. About
# 15% headroom: growing past it should be a decision (raise the figures here in the same
# commit, saying why), not an accident. Raised on 2026-12-01 by 40,000 / 170,000 for the
# deployment doctor (src/doctor, src/cli: 34,605 bytes packed, 156,022 unpacked on their own).
# Raised on 2026-12-02 by 30,000 / 100,000 for filesystem bodies that write themselves into the
# response and the choice of lookups (storages/filesystem-body, -lookups, -descriptor and
# src/direct-body): 381,577 / 1,306,519 with them.
max_packed=400000
max_unpacked=1400000

cd "$root"
step "build and pack"
npm run --silent build
tarball="$work/$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -n 1)"

step "contents and size"
unexpected="$(tar -tzf "$tarball" | grep -E '\.test\.' || tar -tzf "$tarball" | grep -vE \
  '^package/(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist/(src|storages)/.+\.(js|js\.map|d\.ts))$' ||
  true)"
[ -z "$unexpected" ] || fail "unexpected files in the tarball:"$'\n'"$unexpected"
packed="$(stat -c %s "$tarball")"
unpacked="$(tar -xzOf "$tarball" | wc -c)"
echo "$(tar -tzf "$tarball" | wc -l) files, $packed bytes packed (budget $max_packed)," \
  "$unpacked unpacked (budget $max_unpacked)"
[ "$packed" -le "$max_packed" ] || fail "tarball is $packed bytes packed, over its budget of $max_packed"
[ "$unpacked" -le "$max_unpacked" ] ||
  fail "tarball is $unpacked bytes unpacked, over its budget of $max_unpacked"

step "publint"
npx --no-install publint run --strict "$tarball"

step "attw (esm-only profile)"
npx --no-install attw "$tarball" --profile esm-only --no-definitely-typed --format table-flipped

step "install into a fresh user project"
cp -r "$root/test/package/user-project/." "$work/project"
cd "$work/project"
version() { node -p "require('$root/package.json').devDependencies['$1']"; }
npm install --no-audit --no-fund --prefer-offline --silent \
  "$tarball" "koa@$(version koa)" "chai@$(version chai)" "mocha@$(version mocha)" \
  "supertest@$(version supertest)" "@types/node@$(version @types/node)"

# npm ls also exits non-zero on unrelated tree problems: count the copies it lists regardless.
copies="$( (npm ls content-disposition --all --parseable || true) | grep -c . || true)"
[ "$copies" -eq 1 ] || fail "content-disposition is installed $copies times beside Koa: $(npm ls content-disposition --all)"
echo "one content-disposition, shared with Koa"

step "the user project's own tests"
npx --no-install mocha

step "the koa-downloadview command"
# npm links the bin and makes it executable; the probe it prints is the one healthcheck() writes.
npx --no-install koa-downloadview help | grep -q '^  koa-downloadview doctor --app' ||
  fail "koa-downloadview help did not print the usage"
probe_bytes="$(npx --no-install koa-downloadview probe | wc -c)"
[ "$probe_bytes" -eq 2048 ] || fail "koa-downloadview probe printed $probe_bytes bytes, not 2048"
status=0
npx --no-install koa-downloadview doctor > /dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "koa-downloadview doctor without --app exited $status, not 2"
echo "koa-downloadview help, probe and a usage error behave"

step "source maps"
cp "$root/test/package/source-maps.mjs" .
node --enable-source-maps source-maps.mjs

step "type test of the public API"
cp "$root/test/types/public-api.ts" "$root"/test/types/tsconfig*.json .
for pinned in oldest latest; do
  mkdir "$work/$pinned"
  cp "$root/test/types/$pinned"/package*.json "$work/$pinned/"
  npm ci --prefix "$work/$pinned" --no-audit --no-fund --prefer-offline --silent
done
compilers=("$work/oldest/node_modules/typescript/bin/tsc" "$root/node_modules/typescript/bin/tsc"
  "$work/latest/node_modules/typescript/bin/tsc")
types_koa() { node -p "require('./node_modules/@types/koa/package.json').version"; }
typecheck() {
  local tsc config
  for tsc in "${compilers[@]}"; do
    for config in "$@"; do
      echo "TypeScript $(node "$tsc" --version | cut -d' ' -f2), $config, @types/koa $(types_koa)"
      node "$tsc" -p "$config"
    done
  done
}
typecheck tsconfig.json tsconfig.bundler.json
# The @types/koa range of package.json covers Koa 2's typings too: check its lowest 2.x.
koa2_types="$(node -p "require('$root/package.json').dependencies['@types/koa'].match(/\^(2[.0-9]+)/)[1]")"
npm install --no-audit --no-fund --prefer-offline --silent "@types/koa@$koa2_types"
typecheck tsconfig.json
step "done"
