//! The earlier build a miss is compared with.
//!
//! Records are taken in order (the runs before, then the explained run
//! itself, which may hold several builds). A miss is compared with the
//! latest earlier record of the same cargo unit (same unit and the same
//! `-C extra-filename`: a crate built twice in one build, for build scripts
//! and for the target, is two units), else of the same unit in another
//! shape that the explained run no longer builds (its features or flags
//! changed), else it is a new version of a package whose other version is
//! no longer built. A shape or version built beside the miss is a sibling,
//! not what it replaced.

use std::collections::{HashMap, HashSet};

use kiln_types::{Outcome, UnitRecord};

/// Earlier records, by how they match a later one.
pub(crate) struct Earlier<'a> {
    exact: HashMap<(String, Option<&'a str>), &'a UnitRecord>,
    unit: HashMap<String, &'a UnitRecord>,
    other_version: HashMap<String, &'a UnitRecord>,
    /// Units (with version) the explained run builds.
    built_now: HashSet<String>,
    /// The same, with their `-C extra-filename`.
    built_now_exact: HashSet<(String, Option<&'a str>)>,
}

impl<'a> Earlier<'a> {
    /// Nothing earlier yet; `now` is the explained run.
    pub(crate) fn new(now: &'a [UnitRecord]) -> Self {
        Self {
            built_now_exact: now
                .iter()
                .map(|r| (r.unit_id(), r.extra_filename.as_deref()))
                .collect(),
            exact: HashMap::new(),
            unit: HashMap::new(),
            other_version: HashMap::new(),
            built_now: now.iter().map(UnitRecord::unit_id).collect(),
        }
    }

    /// Takes `r` as the latest record of its unit, if it can be compared.
    pub(crate) fn add(&mut self, r: &'a UnitRecord) {
        if !matches!(r.outcome, Outcome::Hit | Outcome::Miss) || r.key.is_none() {
            return;
        }
        let id = r.unit_id();
        self.exact
            .insert((id.clone(), r.extra_filename.as_deref()), r);
        self.unit.insert(id, r);
        self.other_version.insert(r.unit_id_any_version(), r);
    }

    /// The latest earlier record of `r`'s unit: of the same shape, else of
    /// one the explained run no longer builds.
    pub(crate) fn same_unit(&self, r: &UnitRecord) -> Option<&'a UnitRecord> {
        let id = r.unit_id();
        if let Some(p) = self.exact.get(&(id.clone(), r.extra_filename.as_deref())) {
            return Some(p);
        }
        self.unit.get(&id).copied().filter(|p| {
            !self
                .built_now_exact
                .contains(&(p.unit_id(), p.extra_filename.as_deref()))
        })
    }

    /// The latest earlier record of `r`'s package at another version that
    /// the explained run no longer builds (one it builds beside `r` was not
    /// replaced by it).
    pub(crate) fn replaced_version(&self, r: &UnitRecord) -> Option<&'a UnitRecord> {
        self.other_version
            .get(&r.unit_id_any_version())
            .copied()
            .filter(|p| p.package_version != r.package_version)
            .filter(|p| !self.built_now.contains(&p.unit_id()))
    }
}
