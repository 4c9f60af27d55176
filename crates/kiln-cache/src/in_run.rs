//! What the actions inside a build-script run share besides their
//! [`Basis`](crate::action::Basis): the roots a package's build is keyed
//! against.

use std::path::Path;

use kiln_config::Config;
use kiln_key::Roots;

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
