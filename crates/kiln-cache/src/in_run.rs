//! What the actions inside a build-script run share besides their
//! [`Basis`](crate::action::Basis): the roots a package's build is keyed
//! against, and the lookups in a trace that are not inputs.

use std::path::Path;

use kiln_config::Config;
use kiln_key::Roots;
use kiln_trace::Trace;

use crate::observed::Observed;

/// The roots paths of a package's build are keyed against, and whether the
/// package (its directory `package_dir`) comes from `CARGO_HOME`.
///
/// The workspace (the target dir's parent, as cargo lays it out) is the root
/// for what a run sees outside its package: `PWD`, `.git`, other members. A
/// package from `CARGO_HOME` is placed by that root.
pub(crate) fn package_roots(
    cfg: &Config,
    out_dir: &Path,
    package_dir: &Path,
    sysroot: Option<&Path>,
) -> (Roots, bool) {
    let target_dir = kiln_key::roots::find_target_dir(out_dir);
    let from_cargo_home = cfg
        .cargo_home
        .as_ref()
        .is_some_and(|h| package_dir.starts_with(h));
    let workspace = target_dir
        .as_deref()
        .and_then(Path::parent)
        .filter(|w| from_cargo_home || package_dir.starts_with(w))
        .unwrap_or(package_dir)
        .to_path_buf();
    let roots = Roots::new(
        &workspace,
        target_dir.as_deref(),
        cfg.cargo_home.as_deref(),
        sysroot,
    );
    (roots, from_cargo_home)
}

/// Leaves out of `o` the lookups that are not inputs.
///
/// Lookups by kiln itself (compiling a probe or C code for a script) are no
/// inputs: what kiln answers is the compile, observed in full. `PATH` read
/// only by compilers, linkers and git chose the programs they ran: those
/// are keyed by content and by where their names resolve.
pub(crate) fn drop_lookups_by_tools(o: &mut Observed, t: &Trace) {
    let kiln = std::env::current_exe().ok();
    let not_an_input = |name: &str, reader: &Path| {
        kiln.as_deref() == Some(reader)
            || (name == "PATH" && crate::observed::path_only_searched(t, reader))
    };
    o.env.retain(|name| {
        !t.env_readers
            .get(name)
            .is_some_and(|r| r.iter().all(|p| not_an_input(name, p)))
    });
}
