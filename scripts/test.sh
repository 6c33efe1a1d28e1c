#!/usr/bin/env bash
# Runs every test: lint, typecheck, unit, integration and end-to-end suites.
# Installs what a fresh Debian machine lacks (npm packages, and the Debian
# packages the real-stack tests use) before it starts. Prints one closing line
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: installing npm packages…"
  npm install --no-fund --no-audit
fi
bash scripts/install-debian-packages.sh || echo "test: could not install every Debian package; tests that need them will say so" >&2

echo "test: lint…"
npm run --silent lint
echo "test: typecheck…"
npm run --silent typecheck

# The production build (browser/dist, what `npm start` serves) must build; the
# end-to-end tests serve the test build (test-results/app), which keeps
# window.openstudioDiagnostics for them.
echo "test: building the web app…"
{ npm run --silent build && npm run --silent build:test; } > test-results-build.log 2>&1 || { cat test-results-build.log; exit 1; }
rm -f test-results-build.log

mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || status=$?
node -e '
  const r = JSON.parse(require("node:fs").readFileSync("test-results/vitest.json", "utf8"))
  const skipped = r.numPendingTests + r.numTodoTests
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""))
  if (r.numTotalTests === 0) { console.error("test: no test ran"); process.exit(1) }
'
exit "$status"
