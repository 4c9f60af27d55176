#!/usr/bin/env python3
"""kiln's benchmark: kiln vs sccache vs kache vs plain cargo, side by side.

One run measures, per workload and on this machine:
  plain   cargo cold build (no wrapper), cargo's no-op build, and the
          "restore floor": no-op build + copying the finished target dir
  <tool>  for kiln, sccache, kache: cold build (empty cache), warm build in
          the same dir after `cargo clean`, warm build from a copy in another
          directory, and warm build from another directory with another
          CARGO_HOME (its `bin` on PATH in place of this machine's, as on
          another runner); hits/misses/not-cacheable from each tool's own
          stats
and, with --remote (an S3-compatible server, s3s-fs, started on 127.0.0.1
for each tool), for kiln and sccache: a cold build that fills the bucket,
kiln's warm build from a full local dir, and warm builds with an empty local
dir and the full bucket (kiln with and without prefetch, and with the same
objects read as a file:// store; requests per unit from kiln's agent; the S3
server's CPU time, since it shares the build's cores). It prints a Markdown table with ratios, writing Markdown
and JSON (machine, versions, date) to bench/results/.

Usage:
  python3 bench/bench.py [--workload small|ripgrep|seed|seed-aws|bat|all] [--reps N]
                         [--cold-reps N] [--other-cold-reps N]
                         [--tools kiln,sccache,kache] [--out DIR] [--kiln PATH]
                         [--remote] [--remote-only]

Every run writes bench/results/<date>-<time>.{md,json}; a complete run (all
workloads, all three tools) also replaces latest.md, and a --remote-only run
of kiln and sccache replaces latest-remote.md.

Pinned versions of sccache and kache are installed from the crates registry
into bench/work/tools on first use. Nothing here asserts times: this reports.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
TOOLS_ROOT = WORK / "tools"
SCCACHE_VERSION = "0.19.0"
KACHE_VERSION = "2.0.0"

WORKLOADS = {
    # A small workspace: build script, proc macro, binary, cdylib.
    "small": {
        "path": ROOT / "crates" / "kiln" / "tests" / "fixtures" / "basic",
        "build": ["build", "--workspace", "--bins", "--release", "--locked"],
        "profile_dir": "release",
    },
    # A well-known application from the crates registry, built from its
    # published source with its own Cargo.lock.
    "ripgrep": {
        "crate": ("ripgrep", "14.1.1"),
        "build": ["build", "--release", "--locked"],
        "profile_dir": "release",
    },
    # Shaped like the field report: tokio, axum, serde, the AWS SDK (S3),
    # clap; several binaries; built with the CI profile.
    "seed": {
        "path": ROOT / "bench" / "workloads" / "seed",
        "build": ["build", "--workspace", "--bins", "--profile", "ci", "--locked"],
        "profile_dir": "ci",
    },
    # The same with the AWS SDK on its default features, as most teams use
    # it: TLS through aws-lc-rs, whose build script compiles C (aws-lc-sys),
    # beside ring's. Build scripts dominate a warm build without their cache.
    "seed-aws": {
        "path": ROOT / "bench" / "workloads" / "seed",
        "build": ["build", "--workspace", "--bins", "--profile", "ci", "--locked",
                  "--features", "worker/aws-default"],
        "profile_dir": "ci",
    },
    # A C-heavy application from its published source: libgit2-sys, onig_sys
    # and libz-sys build scripts compile C.
    "bat": {
        "crate": ("bat", "0.24.0"),
        "build": ["build", "--release", "--locked"],
        "profile_dir": "release",
    },
}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd, env, check=True):
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.monotonic() - start
    if check and p.returncode != 0:
        log(f"command failed: {' '.join(map(str, cmd))}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        raise SystemExit(1)
    return took, p


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("KILN_", "SCCACHE_", "KACHE_", "RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"))
                   or k in ("RUSTFLAGS", "CARGO_TARGET_DIR"))}
    env["CARGO_INCREMENTAL"] = "0"
    env["CARGO_TERM_COLOR"] = "never"
    # Workloads are built under bench/work, inside this repository: git run
    # by a build (bat's git-version) must not see kiln's own work tree.
    env["GIT_CEILING_DIRECTORIES"] = str(WORK)
    return env


def install(name, version, features=None):
    exe = TOOLS_ROOT / "bin" / name
    if exe.exists():
        v = subprocess.run([str(exe), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        if version in v:
            return exe
    log(f"installing {name} {version} (cargo install --locked)")
    cmd = ["cargo", "install", "--version", version, "--root", str(TOOLS_ROOT), name]
    if features:
        cmd += ["--features", features]
    if subprocess.run(cmd[:2] + ["--locked"] + cmd[2:], env=base_env()).returncode != 0:
        # A published lockfile can pin a version the registry no longer
        # serves; resolve again within the same semver ranges.
        log(f"{name}: --locked failed; resolving dependencies again")
        subprocess.run(cmd, check=True, env=base_env())
    return exe


def build_kiln():
    log("building kiln (release)")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "kiln"], cwd=ROOT, check=True,
                   env=base_env())
    return ROOT / "target" / "release" / "kiln"


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


class RssSampler:
    """Peak resident memory of a tool's own processes during one build.

    Polls /proc every 20 ms for processes whose executable is the tool's and
    keeps the largest VmHWM (the kernel's high-water mark, so a process seen
    once reports its peak so far). Long-lived servers (sccache, kache's
    daemon) are always seen; short wrapper calls may be missed, which is why
    kiln's figure also takes the VmHWM each call records itself."""

    def __init__(self, exes):
        import threading
        self.exes = {os.path.realpath(str(e)) for e in exes}
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    if os.path.realpath(f"/proc/{pid}/exe") not in self.exes:
                        continue
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Tool:
    """A compile cache driven through RUSTC_WRAPPER."""

    name = "?"

    def __init__(self, exe, cache_dir):
        self.exe = exe
        self.cache_dir = cache_dir

    def env(self, env):
        env = dict(env)
        env["RUSTC_WRAPPER"] = str(self.exe)
        return env

    def reset_stats(self, env):
        pass

    def stats(self, env):
        return {}

    def version(self):
        return subprocess.run([str(self.exe), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).stdout.strip()

    def stop(self, env):
        pass

    def processes(self):
        """The executables whose processes are the tool's."""
        return [self.exe]


class Kiln(Tool):
    name = "kiln"

    def env(self, env):
        env = super().env(env)
        env["KILN_DIR"] = str(self.cache_dir)
        return env

    def reset_stats(self, env):
        subprocess.run([str(self.exe), "stats", "--zero"], env=self.env(env), stdout=subprocess.DEVNULL, check=True)
        self.since_ms = int(time.time() * 1000)

    def stats(self, env):
        out = subprocess.run([str(self.exe), "stats", "--json"], env=self.env(env), stdout=subprocess.PIPE,
                             text=True, check=True).stdout
        s = json.loads(out)
        hits_overhead, rss = [], []
        for f in (self.cache_dir / "records").glob("*.jsonl"):
            for line in f.read_text().splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("started_ms", 0) < self.since_ms or r.get("outcome") == "probe":
                    continue
                rss.append(r.get("wrapper_max_rss_kb", 0))
                if r.get("outcome") == "hit":
                    t = r["timings"]
                    hits_overhead.append((t["total_us"] - t["store_us"]) / 1000.0)
        return {
            "hits": s["hits"], "misses": s["misses"], "not_cacheable": s["not_cacheable_total"],
            "not_cacheable_reasons": s["not_cacheable"],
            "median_hit_overhead_ms": round(statistics.median(hits_overhead), 2) if hits_overhead else None,
            "wrapper_peak_rss_mb": round(max(rss) / 1024, 1) if rss else None,
            "build_script_runs": s.get("build_script_runs"),
            "c_compiles": s.get("c_compiles"),
        }


class Sccache(Tool):
    name = "sccache"

    def env(self, env):
        env = super().env(env)
        env["SCCACHE_DIR"] = str(self.cache_dir)
        env["SCCACHE_CACHE_SIZE"] = "20G"
        env["SCCACHE_IDLE_TIMEOUT"] = "0"
        return env

    def stop(self, env):
        subprocess.run([str(self.exe), "--stop-server"], env=self.env(env), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def reset_stats(self, env):
        subprocess.run([str(self.exe), "--zero-stats"], env=self.env(env), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def stats(self, env):
        out = subprocess.run([str(self.exe), "--show-stats", "--stats-format", "json"], env=self.env(env),
                             stdout=subprocess.PIPE, text=True).stdout
        try:
            s = json.loads(out)["stats"]
        except (ValueError, KeyError):
            return {}
        count = lambda v: sum(v.get("counts", {}).values()) if isinstance(v, dict) else int(v or 0)
        not_cached = s.get("not_cached", {})
        return {
            "hits": count(s.get("cache_hits", {})),
            "misses": count(s.get("cache_misses", {})),
            "not_cacheable": sum(not_cached.values()) if isinstance(not_cached, dict) else 0,
            "not_cacheable_reasons": not_cached,
        }


class Kache(Tool):
    name = "kache"

    def env(self, env):
        env = super().env(env)
        env["KACHE_CACHE_DIR"] = str(self.cache_dir)
        env["KACHE_RUNTIME_DIR"] = str(self.cache_dir) + "-runtime"
        return env

    def _summary(self, env):
        p = subprocess.run([str(self.exe), "stats", "--json", "--full", "--since", "24h"], env=self.env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            return json.loads(p.stdout).get("summary", {})
        except ValueError:
            return {}

    def reset_stats(self, env):
        self.before = self._summary(env)

    def stats(self, env):
        now = self._summary(env)
        delta = lambda k: (now.get(k) or 0) - (self.before.get(k) or 0)
        return {
            "hits": delta("local_hits") + delta("remote_hits") + delta("prefetch_hits"),
            "misses": delta("misses"),
            "not_cacheable": delta("passthroughs") + delta("skipped") + delta("fallbacks"),
        }

    def stop(self, env):
        subprocess.run([str(self.exe), "daemon", "stop"], env=self.env(env), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def processes(self):
        # The wrapper hands work to a separate daemon binary.
        return [self.exe, Path(self.exe).parent / "kache-engine"]


S3S_VERSION = "0.14.1"
S3_KEYS = ("bench-access", "bench-secret-key")


def s3s_fs():
    """The S3-compatible server, from KILN_TEST_S3S_FS or installed once."""
    if os.environ.get("KILN_TEST_S3S_FS"):
        return Path(os.environ["KILN_TEST_S3S_FS"])
    return install("s3s-fs", S3S_VERSION, features="binary")


class S3Server:
    """s3s-fs over a directory, on a free port of 127.0.0.1."""

    def __init__(self, exe, root, bucket="bench"):
        import socket
        if root.exists():
            shutil.rmtree(root)
        (root / bucket).mkdir(parents=True)
        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.bucket = bucket
        self.proc = subprocess.Popen([str(exe), "--host", "127.0.0.1", "--port", str(self.port),
                                      "--access-key", S3_KEYS[0], "--secret-key", S3_KEYS[1], str(root)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("s3s-fs did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def cpu_s(self):
        """CPU seconds the server used so far (it shares the machine's cores
        with the build it serves)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def aws_env(self, env):
        env = dict(env)
        env.update({"AWS_ACCESS_KEY_ID": S3_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3_KEYS[1],
                    "AWS_REGION": "us-east-1"})
        return env


def bench_remote(name, spec, a, build, env, tool_name, exe, wdir, reps=1):
    """Remote phases of one tool against its own fresh bucket; warm phases
    repeat `reps` times (times are lists, stats come from the first)."""
    server = S3Server(s3s_fs(), wdir / f"s3-{tool_name}")
    out = {"times_s": {}, "stats": {}}
    try:
        senv = server.aws_env(env)
        if tool_name == "kiln":
            senv.update({"KILN_REMOTE": f"s3://{server.bucket}/kiln",
                         "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.port}"})
            cmd = [str(exe), "run", "--"] + build

            def kiln_phase(label, local, extra=None):
                penv = dict(senv, KILN_DIR=str(local), **(extra or {}))
                run(["cargo", "clean"], a, penv)
                cpu = server.cpu_s()
                t, _ = run(cmd, a, penv)
                out["times_s"].setdefault(label, []).append(t)
                out.setdefault("server_cpu_s", {}).setdefault(label, []).append(round(server.cpu_s() - cpu, 2))
                if label in out["stats"]:
                    subprocess.run([str(exe), "stats", "--zero"], env=penv, stdout=subprocess.DEVNULL, check=True)
                    log(f"kiln {label} {t:.1f}s")
                    return
                reports = sorted(Path(local, "records").glob("*.remote.json"), key=lambda p: p.stat().st_mtime)
                report = json.loads(reports[-1].read_text()) if reports else {}
                stats = json.loads(subprocess.run([str(exe), "stats", "--json", "--zero"], env=penv,
                                                  stdout=subprocess.PIPE, text=True, check=True).stdout)
                requests = report.get("requests", 0)
                n = stats["hits"] + stats["misses"] + stats["not_cacheable_total"]
                out["stats"][label] = {
                    "hits": stats["hits"], "misses": stats["misses"], "not_cacheable": stats["not_cacheable_total"],
                    "remote_hits": stats["remote"]["hits"], "requests": requests,
                    "requests_per_unit": round(requests / n, 2) if n else None,
                    "prefetched": report.get("prefetched_entries"), "bytes_down": report.get("bytes_down"),
                    "bytes_up": report.get("bytes_up"),
                }
                log(f"kiln {label} {t:.1f}s {out['stats'][label]}")

            local = wdir / "remote-kiln-local"
            shutil.rmtree(local, ignore_errors=True)
            kiln_phase("remote_cold", local)
            for _ in range(reps):
                kiln_phase("local_warm", local)
                # The same objects read as a `file://` store: kiln's remote
                # path without an S3 server's CPU on the build's cores.
                as_files = {"KILN_REMOTE": f"file://{server.root / server.bucket / 'kiln'}",
                            "KILN_REMOTE_READ_ONLY": "1"}
                for i, (label, extra) in enumerate([("remote_warm_prefetch", None),
                                                    ("remote_warm_no_prefetch", {"KILN_PREFETCH": "0"}),
                                                    ("remote_warm_file_store", as_files)]):
                    fresh = wdir / f"remote-kiln-fresh-{i}"
                    shutil.rmtree(fresh, ignore_errors=True)
                    kiln_phase(label, fresh, extra)
                    shutil.rmtree(fresh, ignore_errors=True)
        else:
            tool = Sccache(exe, wdir / "remote-sccache-local")
            senv.update({"SCCACHE_BUCKET": server.bucket, "SCCACHE_ENDPOINT": f"127.0.0.1:{server.port}",
                         "SCCACHE_S3_USE_SSL": "false", "SCCACHE_REGION": "us-east-1",
                         "SCCACHE_S3_KEY_PREFIX": "sccache"})
            for label in ["remote_cold"] + ["remote_warm"] * reps:
                tool.stop(senv)
                shutil.rmtree(tool.cache_dir, ignore_errors=True)
                penv = tool.env(senv)
                run(["cargo", "clean"], a, penv)
                tool.reset_stats(senv)
                cpu = server.cpu_s()
                t, _ = run(build, a, penv)
                out["times_s"].setdefault(label, []).append(t)
                out.setdefault("server_cpu_s", {}).setdefault(label, []).append(round(server.cpu_s() - cpu, 2))
                out["stats"].setdefault(label, tool.stats(senv))
                log(f"sccache {label} {t:.1f}s {out['stats'][label]}")
            tool.stop(senv)
    finally:
        server.stop()
    return out


def crate_source(name, version):
    """The published source of a crate (fetched through a throwaway manifest)."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(home.glob(f"registry/src/*/{name}-{version}"))
    if found:
        return found[0]
    tmp = WORK / "fetch" / f"{name}-{version}"
    (tmp / "src").mkdir(parents=True, exist_ok=True)
    (tmp / "src" / "lib.rs").write_text("")
    (tmp / "Cargo.toml").write_text(
        f'[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n'
        f'[dependencies]\n{name} = "={version}"\n[workspace]\n')
    subprocess.run(["cargo", "fetch"], cwd=tmp, check=True, env=base_env())
    found = sorted(home.glob(f"registry/src/*/{name}-{version}"))
    if not found:
        raise SystemExit(f"cannot find the source of {name} {version} after fetching it")
    return found[0]


def copy_workload(src, dest):
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("target"))


def fresh_cargo_home(dest):
    """A new CARGO_HOME holding the registry sources already downloaded, so
    the measurement is about compiling, not the network, and its own `bin`
    with the toolchain's proxies."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    home = cargo_home()
    for sub in ("registry/index", "registry/cache"):
        if (home / sub).exists():
            shutil.copytree(home / sub, dest / sub, symlinks=True)
    (dest / "bin").mkdir()
    for tool in (home / "bin").iterdir() if (home / "bin").is_dir() else []:
        (dest / "bin" / tool.name).symlink_to(tool.resolve())
    return dest


def cargo_home():
    return Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))


def another_machine(env, home):
    """`env` as a runner with CARGO_HOME `home` sees it: its own `bin` on
    PATH where this machine has its CARGO_HOME's (as rustup and the usual
    CI setup steps put it), so a build script that reads all of PATH reads
    the same text up to the CARGO_HOME it is normalized by."""
    old = str(cargo_home() / "bin")
    entries = [str(home / "bin") if e.rstrip("/") == old else e for e in env["PATH"].split(":")]
    return dict(env, CARGO_HOME=str(home), PATH=":".join(entries))


def bench_workload(name, spec, tools, reps, cold_reps, kiln_exe, installed, remote=False, remote_only=False,
                   other_cold_reps=1):
    log(f"workload {name}")
    wdir = WORK / name
    env = base_env()
    if "crate" in spec:
        spec = dict(spec, path=crate_source(*spec["crate"]))
    a = wdir / "a" / "checkout"
    copy_workload(spec["path"], a)
    run(["cargo", "fetch", "--locked"], a, env)
    build = ["cargo"] + spec["build"]
    result = {"workload": name, "build": " ".join(build), "plain": {}, "tools": {}}

    if remote_only:
        for tool_name in tools:
            if tool_name in ("kiln", "sccache"):
                exe = kiln_exe if tool_name == "kiln" else installed[tool_name]
                result["tools"][tool_name] = {"remote": bench_remote(name, spec, a, build, env, tool_name, exe, wdir,
                                                                     reps)}
        return result

    # Plain cargo: cold, no-op, restore floor.
    colds = []
    for i in range(cold_reps):
        run(["cargo", "clean"], a, env)
        t, _ = run(build, a, env)
        colds.append(t)
        log(f"plain cold {t:.1f}s")
    noop, _ = run(build, a, env)
    start = time.monotonic()
    shutil.copytree(a / "target", wdir / "target-copy", symlinks=True, dirs_exist_ok=False)
    copy = time.monotonic() - start
    shutil.rmtree(wdir / "target-copy")
    result["plain"] = {"cold_s": colds, "noop_s": noop, "copy_target_s": copy, "floor_s": noop + copy,
                       "target_bytes": du(a / "target")}

    for tool_name in tools:
        exe = kiln_exe if tool_name == "kiln" else installed[tool_name]
        cls = {"kiln": Kiln, "sccache": Sccache, "kache": Kache}[tool_name]
        phases = {"cold": [], "warm": [], "other_dir": [], "other_dir_home": [], "new_job": []}
        stats = {}
        cache = wdir / f"cache-{tool_name}"
        tool = cls(exe, cache)
        tenv = tool.env(env)

        def phase(label, cwd, penv, clean=True):
            if clean:
                run(["cargo", "clean"], cwd, penv)
            tool.reset_stats(env)
            with RssSampler(tool.processes()) as sampler:
                t, _ = run(build, cwd, penv)
            phases[label].append(t)
            st = tool.stats(env)
            sampled = round(sampler.peak_kb / 1024, 1) if sampler.peak_kb else None
            st["peak_rss_mb"] = max(filter(None, [sampled, st.get("wrapper_peak_rss_mb")]), default=None)
            stats.setdefault(label, st)
            log(f"{tool_name} {label} {t:.1f}s {st.get('hits')}/{st.get('misses')}/{st.get('not_cacheable')}")

        # Cold: an empty cache each time; the last one leaves it full. kiln's
        # cold build is compared with plain cargo's, so both repeat alike.
        for _ in range(cold_reps if tool_name == "kiln" else other_cold_reps):
            tool.stop(env)
            if cache.exists():
                shutil.rmtree(cache)
            cache.mkdir(parents=True)
            phase("cold", a, tenv)
        for rep in range(reps):
            phase("warm", a, tenv)
            b = wdir / f"b-{rep}" / "deeper" / "checkout"
            copy_workload(spec["path"], b)
            phase("other_dir", b, tenv, clean=False)
            c = wdir / f"c-{rep}" / "elsewhere"
            copy_workload(spec["path"], c)
            henv = another_machine(tenv, fresh_cargo_home(wdir / f"home-{rep}"))
            run(["cargo", "fetch", "--locked"], c, henv)
            phase("other_dir_home", c, henv, clean=False)
            for d in (b.parent.parent, c.parent, wdir / f"home-{rep}"):
                shutil.rmtree(d, ignore_errors=True)
        # A new CI job: same dir and cache, but the job's own variables
        # differ (every CI system sets a run id). Runs that may read their
        # whole environment (sh, make, cmake) miss; their C compiles should
        # not.
        jenv = dict(tenv)
        jenv["GITHUB_RUN_ID"] = str(int(time.time()))
        jenv["CI_JOB_ID"] = str(os.getpid())
        phase("new_job", a, jenv)
        stats["cache_bytes"] = du(cache)
        if tool_name == "kiln":
            stats["snapshot"] = bench_snapshot(exe, a, build, tenv, wdir)
        tool.stop(env)
        result["tools"][tool_name] = {"version": tool.version(), "times_s": phases, "stats": stats}
        if remote and tool_name in ("kiln", "sccache"):
            result["tools"][tool_name]["remote"] = bench_remote(name, spec, a, build, env, tool_name, exe, wdir,
                                                                reps)
    return result


def bench_snapshot(exe, a, build, tenv, wdir):
    """The GitHub Actions cache tier without the service: one job restores
    the full store's snapshot, builds (every unit used), saves its pruned
    snapshot; the next job restores that into an empty store and builds."""
    full, job = wdir / "snapshot-full.tar.zst", wdir / "snapshot-job.tar.zst"
    stores = [wdir / "cache-kiln-job", wdir / "cache-kiln-next"]
    for d in stores:
        shutil.rmtree(d, ignore_errors=True)
    run([str(exe), "ci", "save", "--file", str(full)], a, tenv)
    env1 = dict(tenv, KILN_DIR=str(stores[0]))
    run([str(exe), "ci", "restore", "--file", str(full)], a, env1)
    run(["cargo", "clean"], a, env1)
    run(build, a, env1)
    save_s, _ = run([str(exe), "ci", "save", "--file", str(job)], a, env1)
    env2 = dict(tenv, KILN_DIR=str(stores[1]))
    restore_s, _ = run([str(exe), "ci", "restore", "--file", str(job)], a, env2)
    run(["cargo", "clean"], a, env2)
    build_s, _ = run(build, a, env2)
    _, p = run([str(exe), "stats", "--json"], a, env2)
    st = json.loads(p.stdout)
    out = {"bytes": job.stat().st_size, "full_store_bytes": full.stat().st_size, "save_s": round(save_s, 2),
           "restore_s": round(restore_s, 2), "build_s": round(build_s, 2), "hits": st.get("hits"),
           "misses": st.get("misses"), "not_cacheable": st.get("not_cacheable_total")}
    log(f"kiln snapshot {out}")
    for d in stores:
        shutil.rmtree(d, ignore_errors=True)
    full.unlink()
    job.unlink()
    return out


def med(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def hit_rate(st):
    if not st or st.get("hits") is None or st.get("misses") is None:
        return None
    total = st["hits"] + st["misses"] + (st.get("not_cacheable") or 0)
    return round(100.0 * st["hits"] / total, 1) if total else None


def summarize_remote(r):
    """The remote phases: kiln and sccache against a local S3 server."""
    rows = {n: t["remote"] for n, t in r["tools"].items() if t.get("remote")}
    if not rows:
        return ""
    lines = ["", "Remote store (s3s-fs on 127.0.0.1, empty local dir, full bucket):", "",
             "| tool | cold, fills bucket | warm, full local dir | warm from bucket, prefetch | warm from bucket, no prefetch | same objects as a file:// store | hits (prefetch) | requests/unit (prefetch / none) | S3 server CPU during warm from bucket |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    ratios = {}
    for name, rr in rows.items():
        ts, st = rr["times_s"], rr["stats"]
        f = lambda k: f"{med(ts[k]):.2f}s (min {min(ts[k]):.2f})" if ts.get(k) else "-"
        warm_key = "remote_warm_prefetch" if name == "kiln" else "remote_warm"
        w = st.get(warm_key, {})
        n = st.get("remote_warm_no_prefetch", {})
        cpu = rr.get("server_cpu_s", {}).get(warm_key)
        lines.append(f"| {name} | {f('remote_cold')} | {f('local_warm')} | {f(warm_key)} | "
                     f"{f('remote_warm_no_prefetch')} | {f('remote_warm_file_store')} | "
                     f"{w.get('hits')}/{(w.get('hits') or 0) + (w.get('misses') or 0) + (w.get('not_cacheable') or 0)} | "
                     f"{w.get('requests_per_unit', '-')} / {n.get('requests_per_unit', '-')} | "
                     f"{f'{med(cpu):.2f}s' if cpu else '-'} |")
        if name == "kiln":
            m = lambda k: med(ts.get(k) or [])
            ratios["kiln_remote_warm_over_local_warm"] = ratio(m("remote_warm_prefetch"), m("local_warm"))
            ratios["kiln_remote_warm_no_prefetch_over_local_warm"] = ratio(m("remote_warm_no_prefetch"), m("local_warm"))
            ratios["kiln_prefetch_on_over_off"] = ratio(m("remote_warm_prefetch"), m("remote_warm_no_prefetch"))
            if ts.get("remote_warm_file_store"):
                ratios["kiln_file_store_warm_over_local_warm"] = ratio(m("remote_warm_file_store"), m("local_warm"))
            cpu = rr.get("server_cpu_s", {}).get("remote_warm_prefetch")
            if cpu:
                ratios["s3_server_cpu_s_during_remote_warm"] = med(cpu)
    if "kiln" in rows and "sccache" in rows:
        ratios["kiln_remote_warm_over_sccache_remote_warm"] = ratio(
            med(rows["kiln"]["times_s"].get("remote_warm_prefetch") or []),
            med(rows["sccache"]["times_s"].get("remote_warm") or []))
    lines += [""] + [f"- {k}: {v}" for k, v in ratios.items()]
    r.setdefault("ratios", {})["remote"] = ratios
    return "\n".join(lines) + "\n"


def summarize(r):
    if not r.get("plain"):
        return f"### {r['workload']}: `{r['build']}`\n" + summarize_remote(r)
    plain_cold = med(r["plain"]["cold_s"])
    floor = r["plain"]["floor_s"]
    lines = [f"### {r['workload']}: `{r['build']}`", "",
             f"plain cargo cold: median {plain_cold:.1f}s (min {min(r['plain']['cold_s']):.1f}s); "
             f"no-op {r['plain']['noop_s']:.2f}s; restore floor (no-op + copy target/) {floor:.2f}s", "",
             "| tool | cold | warm (same dir) | other dir | other dir + CARGO_HOME | new CI job (same dir, new run id) | hits/misses/uncached (warm) | hit rate other dir+home | cache size |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    ratios = {}
    for name, t in r["tools"].items():
        ts, st = t["times_s"], t["stats"]
        cell = lambda k: f"{med(ts[k]):.2f}s (min {min(ts[k]):.2f})" if ts.get(k) else "-"
        w = st.get("warm", {})
        runs = (st.get("other_dir_home") or {}).get("build_script_runs")
        if runs:
            ratios.setdefault(name, {})
        lines.append(f"| {name} | {cell('cold')} | {cell('warm')} | {cell('other_dir')} | {cell('other_dir_home')} | "
                     f"{cell('new_job')} | {w.get('hits')}/{w.get('misses')}/{w.get('not_cacheable')} | "
                     f"{hit_rate(st.get('other_dir_home'))}% | {st.get('cache_bytes', 0) / 1e6:.0f} MB |")
        ratios[name] = {
            "warm_over_cold": ratio(med(ts["warm"]), med(ts["cold"])),
            "cold_over_plain": ratio(med(ts["cold"]), plain_cold),
            "warm_over_floor": ratio(med(ts["warm"]), floor),
            "hit_rate_other_dir": hit_rate(st.get("other_dir")),
            "hit_rate_other_dir_home": hit_rate(st.get("other_dir_home")),
            # What a hit costs beyond what no cache can avoid: the warm build
            # minus the restore floor, per hit.
            "warm_ms_per_hit_over_floor": round(1000 * (med(ts["warm"]) - floor) / w["hits"], 2)
            if w.get("hits") else None,
            "peak_rss_mb": w.get("peak_rss_mb"),
        }
        if runs:
            done = runs["hits"] + runs["misses"]
            ratios[name]["build_script_run_hit_rate_other_dir_home"] = (
                round(100 * runs["hits"] / done, 1) if done else None)
        if ts.get("new_job"):
            ratios[name]["new_job_over_cold"] = ratio(med(ts["new_job"]), med(ts["cold"]))
            job = st.get("new_job") or {}
            for kind in ("build_script_runs", "c_compiles"):
                k = job.get(kind)
                if k and (k["hits"] + k["misses"]):
                    ratios[name][f"{kind}_hit_rate_new_job"] = round(100 * k["hits"] / (k["hits"] + k["misses"]), 1)
    k = r["tools"].get("kiln")
    if k:
        kw = med(k["times_s"]["warm"])
        for other in ("sccache", "kache"):
            if other in r["tools"]:
                ratios["kiln"][f"warm_over_{other}_warm"] = ratio(kw, med(r["tools"][other]["times_s"]["warm"]))
        ks = k["stats"].get("warm", {})
        ratios["kiln"]["median_hit_overhead_ms"] = ks.get("median_hit_overhead_ms")
    lines += ["", "| ratio | " + " | ".join(ratios) + " |", "| --- |" + " --- |" * len(ratios)]
    keys = sorted({k for v in ratios.values() for k in v})
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(str(ratios[t].get(key, "-")) for t in ratios) + " |")
    snap = (k or {}).get("stats", {}).get("snapshot") if k else None
    if snap:
        lines += ["", f"snapshot (the Action's cache tier, one job's store as one file): "
                      f"{snap['bytes'] / 1e6:.1f} MB (the whole store: {snap['full_store_bytes'] / 1e6:.1f} MB), "
                      f"saved in {snap['save_s']:.2f}s, restored into an empty store in {snap['restore_s']:.2f}s; "
                      f"the build after it {snap['build_s']:.2f}s, "
                      f"{snap['hits']}/{snap['misses']}/{snap['not_cacheable']} hits/misses/uncached"]
    r["ratios"] = ratios
    return "\n".join(lines) + "\n" + summarize_remote(r)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="all", choices=["all"] + list(WORKLOADS))
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each warm phase")
    ap.add_argument("--cold-reps", type=int, default=1, help="repetitions of plain cargo's and kiln's cold builds")
    ap.add_argument("--other-cold-reps", type=int, default=1, help="repetitions of sccache's and kache's cold builds")
    ap.add_argument("--tools", default="kiln,sccache,kache")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--kiln", help="use this kiln binary instead of building target/release/kiln")
    ap.add_argument("--remote", action="store_true", help="also measure kiln and sccache against a local S3 server")
    ap.add_argument("--remote-only", action="store_true", help="measure only the remote phases")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    installed = {}
    if "sccache" in tools:
        installed["sccache"] = install("sccache", SCCACHE_VERSION)
    if "kache" in tools:
        installed["kache"] = install("kache", KACHE_VERSION)
    kiln_exe = Path(args.kiln).resolve() if args.kiln else build_kiln()
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    results = []
    report = [f"# kiln benchmark, {datetime.date.today().isoformat()}", "",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
              f"{subprocess.run(['rustc', '--version'], stdout=subprocess.PIPE, text=True).stdout.strip()}; "
              f"cold builds x{args.cold_reps} (plain cargo, kiln) and x{args.other_cold_reps} (sccache, kache), "
              f"warm phases x{args.reps}. Reproduce: `python3 bench/bench.py {' '.join(sys.argv[1:])}`.", "",
              "Columns: each cell is the median (min) over repetitions. `peak_rss_mb` is the largest resident set "
              "of the tool's own processes (wrapper calls, and sccache's server or kache's daemon). "
              "`warm_ms_per_hit_over_floor` is (warm build - restore floor) / hits.", ""]
    for n in names:
        r = bench_workload(n, WORKLOADS[n], tools, args.reps, args.cold_reps, kiln_exe, installed,
                           remote=args.remote or args.remote_only, remote_only=args.remote_only,
                           other_cold_reps=args.other_cold_reps)
        report.append(summarize(r))
        results.append(r)
    text = "\n".join(report)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {"date": datetime.datetime.now().isoformat(), "machine": platform.platform(), "cores": os.cpu_count(),
            "rustc": subprocess.run(["rustc", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip(),
            "versions": {n: None for n in tools}, "reps": args.reps, "results": results}
    for r in results:
        for n, t in r["tools"].items():
            meta["versions"][n] = t.get("version")
    (out / f"{stamp}.json").write_text(json.dumps(meta, indent=2))
    (out / f"{stamp}.md").write_text(text)
    # The `latest` pages only come from complete runs, so a partial run never
    # replaces a side-by-side table.
    complete = args.workload == "all" and set(tools) >= {"kiln", "sccache", "kache"}
    if args.remote_only and {"kiln", "sccache"} <= set(tools):
        (out / "latest-remote.md").write_text(text)
    elif complete:
        (out / "latest.md").write_text(text)
    log(f"wrote {out / (stamp + '.md')}")


if __name__ == "__main__":
    main()
