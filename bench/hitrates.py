#!/usr/bin/env python3
"""Hit rates and behaviour on real crates, beside the timed benchmark.

1. `cargo install --locked` of a binary crate twice, each time into its own
   root (cargo builds in a fresh temporary target dir): the second install
   should hit every cacheable unit.
2. The crate's own test suite, once with plain cargo and once through kiln
   after `cargo clean`: the same tests pass and fail.

Usage: python3 bench/hitrates.py [--crate just@1.40.0]
Writes bench/results/hitrates-<stamp>.{json,md}.
"""

import argparse
import json
import re
import shutil
import time

import bench


def counts(tool, env):
    st = tool.stats(env)
    return {k: st.get(k) for k in ("hits", "misses", "not_cacheable", "not_cacheable_reasons")}


def test_summary(p):
    """Passed and failed counts summed over cargo test's result lines."""
    passed = failed = 0
    for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", p.stdout):
        passed += int(m.group(1))
        failed += int(m.group(2))
    return {"passed": passed, "failed": failed, "exit": p.returncode}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crate", default="just@1.40.0")
    args = ap.parse_args()
    name, version = args.crate.split("@")
    kiln = bench.build_kiln()
    wdir = bench.WORK / "hitrates" / name
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir(parents=True)
    env = bench.base_env()
    tool = bench.Kiln(kiln, wdir / "kiln")
    kenv = tool.env(env)
    result = {"crate": args.crate, "install": [], "tests": {}}

    for i in (1, 2):
        tool.reset_stats(env)
        t, _ = bench.run(["cargo", "install", "--locked", "--version", version, "--root",
                          str(wdir / f"root-{i}"), name], bench.ROOT, kenv)
        st = counts(tool, env)
        bench.log(f"install {i}: {t:.1f}s {st}")
        result["install"].append({"seconds": round(t, 1), **st})

    src = wdir / "src"
    bench.copy_workload(bench.crate_source(name, version), src)
    test = ["cargo", "test", "--locked", "--no-fail-fast"]
    _, plain = bench.run(test, src, env, check=False)
    result["tests"]["plain"] = test_summary(plain)
    bench.run(["cargo", "clean"], src, env)
    tool.reset_stats(env)
    _, first = bench.run(test, src, kenv, check=False)
    result["tests"]["kiln"] = test_summary(first)
    result["tests"]["kiln_units"] = counts(tool, env)
    bench.run(["cargo", "clean"], src, env)
    tool.reset_stats(env)
    _, warm = bench.run(test, src, kenv, check=False)
    result["tests"]["kiln_warm"] = test_summary(warm)
    result["tests"]["kiln_warm_units"] = counts(tool, env)
    bench.log(f"tests: {result['tests']}")

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = bench.ROOT / "bench" / "results" / f"hitrates-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Hit rates: {args.crate}", "", "| run | seconds | hits | misses | not cacheable |",
             "| --- | --- | --- | --- | --- |"]
    for i, r in enumerate(result["install"], 1):
        lines.append(f"| install {i} | {r['seconds']} | {r['hits']} | {r['misses']} | {r['not_cacheable']} |")
    lines += ["", "| test suite | passed | failed | exit |", "| --- | --- | --- | --- |"]
    for k in ("plain", "kiln", "kiln_warm"):
        r = result["tests"][k]
        lines.append(f"| {k} | {r['passed']} | {r['failed']} | {r['exit']} |")
    w = result["tests"]["kiln_warm_units"]
    lines += ["", f"Warm test build through kiln: {w['hits']} hits, {w['misses']} misses, "
                  f"{w['not_cacheable']} not cacheable."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
