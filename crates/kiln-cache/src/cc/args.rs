//! Which C and C++ compiler calls kiln can cache, and what they write.
//!
//! A cacheable call compiles one source file to one object (`-c`), maybe
//! with a make-style dependency file (`-MD`/`-MMD`), both in one directory.
//! Anything that writes other files, reads arguments from a file, reads its
//! source from standard input or uses a compiler-side cache runs as is.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// What a cacheable call reads and writes, as given (relative to its
/// working directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The source file.
    pub source: PathBuf,
    /// The object written.
    pub object: PathBuf,
    /// The dependency file written, if any.
    pub depfile: Option<PathBuf>,
}

/// Options followed by a value in the next argument.
const TAKES_VALUE: &[&str] = &[
    "-o",
    "-I",
    "-D",
    "-U",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-isysroot",
    "-imultilib",
    "--sysroot",
    "-x",
    "-MF",
    "-MT",
    "-MQ",
    "-target",
    "--target",
    "-arch",
    "-Xassembler",
    "-Xlinker",
    "-L",
    "-l",
    "-T",
    "-u",
    "-z",
    "-B",
    "-F",
    "-iframework",
    "-gcc-toolchain",
];

/// Options (and prefixes) that write files besides the object, read
/// arguments kiln cannot see, or hand options on unseen.
const REFUSED: &[&str] = &[
    "-E",
    "-S",
    "-M",
    "-MM",
    "-save-temps",
    "-gsplit-dwarf",
    "--coverage",
    "-ftest-coverage",
    "-fprofile-arcs",
    "-fprofile-generate",
    "-fprofile-instr-generate",
    "-fdump-",
    "-ftime-trace",
    "-fstack-usage",
    "-fcallgraph-info",
    "-aux-info",
    "-fmodules",
    "-fmodule-",
    "-fpch-",
    "-include-pch",
    "-emit-",
    "-Xclang",
    "-Xpreprocessor",
    "-Wp,",
    "-Wa,-a",
    "-fdiagnostics-format=sarif",
    "-fsave-optimization-record",
    "-frandom-seed",
    "-MJ",
    "--serialize-diagnostics",
    "-###",
];

const SOURCE_EXTENSIONS: &[&str] = &[
    "c", "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", "s", "S", "sx", "i", "ii", "m", "mm",
];

fn refused(arg: &str) -> bool {
    REFUSED
        .iter()
        .any(|r| arg == *r || (r.ends_with(['-', ',']) && arg.starts_with(r)))
        || (arg.starts_with("-save-temps") || arg.starts_with("-fprofile-generate"))
}

/// Why a compiler call is not cached: it runs as is, still observed by the
/// run around it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RunsAsIs(pub String);

/// The plan of a call, or why it runs as is.
pub(crate) fn plan(args: &[OsString]) -> Result<Plan, RunsAsIs> {
    let mut compiles = false;
    let mut object = None;
    let mut depfile_named = None;
    let mut depfile_wanted = false;
    let mut sources = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(a) = arg.to_str() else {
            return Err(RunsAsIs("an argument is not UTF-8".into()));
        };
        if a == "-" || a.starts_with('@') {
            return Err(RunsAsIs(format!("`{a}` reads input kiln does not see")));
        }
        if refused(a) {
            return Err(RunsAsIs(format!(
                "`{a}` writes or reads files kiln does not cache"
            )));
        }
        match a {
            "-c" => compiles = true,
            "-MD" | "-MMD" => depfile_wanted = true,
            _ if TAKES_VALUE.contains(&a) => {
                let value = it
                    .next()
                    .ok_or_else(|| RunsAsIs(format!("`{a}` without a value")))?;
                match a {
                    "-o" => object = Some(PathBuf::from(value)),
                    "-MF" => depfile_named = Some(PathBuf::from(value)),
                    _ => {}
                }
            }
            _ if a.starts_with("-o") && a.len() > 2 => object = Some(PathBuf::from(&a[2..])),
            _ if a.starts_with("-MF") && a.len() > 3 => {
                depfile_named = Some(PathBuf::from(&a[3..]));
            }
            _ if a.starts_with('-') => {}
            _ => sources.push(PathBuf::from(a)),
        }
    }
    if !compiles {
        return Err(RunsAsIs("not a compile to an object (`-c`)".into()));
    }
    let [source] = sources.as_slice() else {
        return Err(RunsAsIs(format!(
            "{} inputs, not one source file",
            sources.len()
        )));
    };
    let is_source = source
        .extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e));
    if !is_source {
        return Err(RunsAsIs(format!(
            "`{}` is not a C or C++ source",
            source.display()
        )));
    }
    let object = match object {
        Some(o) => o,
        None => PathBuf::from(source.file_stem().unwrap_or_default()).with_extension("o"),
    };
    let depfile = match (depfile_wanted, depfile_named) {
        (false, None) => None,
        (false, Some(_)) => return Err(RunsAsIs("`-MF` without `-MD`".into())),
        (true, Some(d)) => Some(d),
        (true, None) => Some(object.with_extension("d")),
    };
    if let Some(d) = &depfile
        && (d.parent() != object.parent() || d.file_name() == object.file_name())
    {
        return Err(RunsAsIs(
            "the dependency file is not beside the object".into(),
        ));
    }
    if object.file_name().is_none() {
        return Err(RunsAsIs("no object file name".into()));
    }
    Ok(Plan {
        source: source.clone(),
        object,
        depfile,
    })
}

/// The directory outputs are written to, against `cwd`.
pub(crate) fn output_dir(plan: &Plan, cwd: &Path) -> PathBuf {
    let dir = plan.object.parent().unwrap_or(Path::new(""));
    cwd.join(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn a_cc_crate_compile() {
        let p = plan(&args(
            "-O0 -ffunction-sections -fPIC -g -m64 -I include -Wall -DFOO=1 -o /out/abc-lib.o -c src/lib.c",
        ))
        .unwrap();
        assert_eq!(p.source, Path::new("src/lib.c"));
        assert_eq!(p.object, Path::new("/out/abc-lib.o"));
        assert_eq!(p.depfile, None);
    }

    #[test]
    fn a_cmake_compile_with_a_depfile() {
        let p = plan(&args(
            "-DX -I/a/include -O3 -march=native -MD -MT d/x.c.o -MF d/x.c.o.d -o d/x.c.o -c /src/x.c",
        ))
        .unwrap();
        assert_eq!(p.depfile.as_deref(), Some(Path::new("d/x.c.o.d")));
        let implied = plan(&args("-MMD -c x.c -o o/x.o")).unwrap();
        assert_eq!(implied.depfile.as_deref(), Some(Path::new("o/x.d")));
        let default_name = plan(&args("-c dir/x.c")).unwrap();
        assert_eq!(default_name.object, Path::new("x.o"));
    }

    #[test]
    fn what_runs_as_is() {
        for a in [
            "-o x.o x.c",
            "-c x.c y.c -o x.o",
            "-c -o x.o -",
            "-c @args",
            "-c -save-temps x.c",
            "-c -save-temps=obj x.c",
            "-c -gsplit-dwarf x.c",
            "-c --coverage x.c",
            "-c -Wp,-MD,x.d x.c",
            "-c -Xclang -foo x.c",
            "-c -MF x.d x.c",
            "-c -MD -MF other/x.d -o o/x.o x.c",
            "-c -E x.c",
            "-c x.o",
            "-c -unknown-option value x.c",
            "-c x.c -o",
            "-c -fdump-tree-all x.c",
        ] {
            assert!(plan(&args(a)).is_err(), "{a}");
        }
    }
}
