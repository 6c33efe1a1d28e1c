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
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=test-results/vitest-unit.json || status=$?
# The real stacks, one file at a time: they need the machine to themselves.
# Vitest 4 ran two of a project's files at once despite its fileParallelism:
# false (a Firefox studio's calls then failed); the command-line limit holds.
npx vitest run --project integration --project e2e --maxWorkers=1 --reporter=default --reporter=json --outputFile.json=test-results/vitest-stacks.json || status=$?
node -e '
  const fs = require("node:fs")
  const runs = ["unit", "stacks"].map((n) => JSON.parse(fs.readFileSync(`test-results/vitest-${n}.json`, "utf8")))
  const sum = (k) => runs.reduce((n, r) => n + r[k], 0)
  const skipped = sum("numPendingTests") + sum("numTodoTests")
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed` + (skipped ? `, ${skipped} skipped` : ""))
  if (sum("numTotalTests") === 0) { console.error("test: no test ran"); process.exit(1) }
'
exit "$status"
