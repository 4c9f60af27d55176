//! Budgets: the `[budgets]` table of `kiln.toml`.
//!
//! ```toml
//! [budgets]
//! min_hit_rate = 0.9               # hits / (hits + misses), 0..1
//! max_hit_rate_drop = 0.1          # vs the baseline, absolute (0.1 = 10 points)
//! max_wall_time_increase = 0.2     # vs the baseline, relative (0.2 = +20%)
//! max_compile_time_increase = 0.2  # vs the baseline, relative
//! max_new_dependencies = 0         # crates compiled that the baseline did not
//! ```
//!
//! `kiln.toml` is found by walking up from the working directory. Other
//! tables (`[remote]`, …) belong to other parts of kiln and are ignored
//! here; unknown keys inside `[budgets]` are errors, so a typo does not
//! silently disable a gate.

use std::path::{Path, PathBuf};

/// Thresholds that make a regression; `None`: not checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budgets {
    /// Lowest acceptable hit rate, 0..1.
    pub min_hit_rate: Option<f64>,
    /// Largest acceptable drop of the hit rate vs the baseline, 0..1.
    pub max_hit_rate_drop: Option<f64>,
    /// Largest acceptable relative increase of wall time vs the baseline.
    pub max_wall_time_increase: Option<f64>,
    /// Largest acceptable relative increase of compile time vs the baseline.
    pub max_compile_time_increase: Option<f64>,
    /// Largest acceptable number of crates not in the baseline.
    pub max_new_dependencies: Option<u64>,
}

impl Default for Budgets {
    /// The thresholds used without a `kiln.toml`: 10 points of hit rate,
    /// +20% wall time, +20% compile time.
    fn default() -> Self {
        Self {
            min_hit_rate: None,
            max_hit_rate_drop: Some(0.1),
            max_wall_time_increase: Some(0.2),
            max_compile_time_increase: Some(0.2),
            max_new_dependencies: None,
        }
    }
}

/// A `kiln.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read budgets from `{path}`: {problem}")]
pub struct BudgetsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: BudgetsProblem,
}

/// What is wrong with a `kiln.toml`'s budgets.
#[derive(Debug, thiserror::Error)]
pub enum BudgetsProblem {
    /// The file cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// The file is not TOML.
    #[error("{0}")]
    Syntax(String),
    /// `budgets` is a value, not a table.
    #[error("`budgets` is not a table")]
    NotATable,
    /// A threshold that must be a number ≥ 0 is not.
    #[error("`budgets.{0}` must be a number ≥ 0")]
    NotANumber(String),
    /// `min_hit_rate` above 1: a percentage where a fraction belongs.
    #[error("`budgets.min_hit_rate` is a fraction (0.9 = 90%), got {0}")]
    HitRateNotAFraction(f64),
    /// `max_new_dependencies` is not an integer ≥ 0.
    #[error("`budgets.max_new_dependencies` must be an integer ≥ 0")]
    NotACount,
    /// A key `[budgets]` does not take (a typo must not disable a gate).
    #[error("unknown key `budgets.{0}`")]
    UnknownKey(String),
}

impl BudgetsError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        "`[budgets]` takes `min_hit_rate`, `max_hit_rate_drop`, `max_wall_time_increase`, \
         `max_compile_time_increase` (numbers, e.g. `0.2`) and `max_new_dependencies` (an integer)"
            .to_owned()
    }
}

/// Where the budgets came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedBudgets {
    /// The thresholds (defaults where the file sets none).
    pub budgets: Budgets,
    /// The `kiln.toml` read, if any.
    pub file: Option<PathBuf>,
}

/// The nearest `kiln.toml` at or above `start` (the same file the rest of
/// kiln's settings come from).
pub fn find_config(start: &Path) -> Option<PathBuf> {
    kiln_config::file::find(start)
}

/// Budgets from the nearest `kiln.toml` above `start`, or the defaults.
pub fn load(start: &Path) -> Result<LoadedBudgets, BudgetsError> {
    let Some(path) = find_config(start) else {
        return Ok(LoadedBudgets {
            budgets: Budgets::default(),
            file: None,
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|e| BudgetsError {
        path: path.clone(),
        problem: BudgetsProblem::Read(e),
    })?;
    let budgets = parse(&path, &text)?;
    Ok(LoadedBudgets {
        budgets,
        file: Some(path),
    })
}

/// Parses the `[budgets]` table of `text`, the contents of the `kiln.toml`
/// at `path` (which errors name). Keys it does not set keep their defaults.
pub fn parse(path: &Path, text: &str) -> Result<Budgets, BudgetsError> {
    let error = |problem| BudgetsError {
        path: path.to_owned(),
        problem,
    };
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| error(BudgetsProblem::Syntax(e.message().to_owned())))?;
    let mut b = Budgets::default();
    let Some(table) = doc.get("budgets") else {
        return Ok(b);
    };
    let table = table
        .as_table_like()
        .ok_or_else(|| error(BudgetsProblem::NotATable))?;
    for (key, item) in table.iter() {
        set(&mut b, key, item).map_err(error)?;
    }
    Ok(b)
}

/// Sets the threshold `key` of `b` from its value in the file.
fn set(b: &mut Budgets, key: &str, item: &toml_edit::Item) -> Result<(), BudgetsProblem> {
    let number = || number(key, item);
    match key {
        "min_hit_rate" => {
            let v = number()?;
            if v > 1.0 {
                return Err(BudgetsProblem::HitRateNotAFraction(v));
            }
            b.min_hit_rate = Some(v);
        }
        "max_hit_rate_drop" => b.max_hit_rate_drop = Some(number()?),
        "max_wall_time_increase" => b.max_wall_time_increase = Some(number()?),
        "max_compile_time_increase" => b.max_compile_time_increase = Some(number()?),
        "max_new_dependencies" => {
            let v = item
                .as_integer()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or(BudgetsProblem::NotACount)?;
            b.max_new_dependencies = Some(v);
        }
        other => return Err(BudgetsProblem::UnknownKey(other.to_owned())),
    }
    Ok(())
}

/// The value of `budgets.<key>` as a finite number ≥ 0 (an integer reads
/// as a float).
fn number(key: &str, item: &toml_edit::Item) -> Result<f64, BudgetsProblem> {
    let v = item.as_value();
    v.and_then(toml_edit::Value::as_float)
        .or_else(|| {
            #[allow(clippy::cast_precision_loss)]
            v.and_then(toml_edit::Value::as_integer).map(|i| i as f64)
        })
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or_else(|| BudgetsProblem::NotANumber(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Budgets, BudgetsProblem> {
        super::parse(Path::new("kiln.toml"), text).map_err(|e| e.problem)
    }

    #[test]
    fn parses_budgets_and_ignores_other_tables() {
        let b = parse(
            "[remote]\nbucket = \"x\"\n[budgets]\nmin_hit_rate = 0.9\nmax_wall_time_increase = 1\nmax_new_dependencies = 3\n",
        )
        .unwrap();
        assert_eq!(b.min_hit_rate, Some(0.9));
        assert_eq!(b.max_wall_time_increase, Some(1.0));
        assert_eq!(b.max_new_dependencies, Some(3));
        assert_eq!(b.max_compile_time_increase, Some(0.2), "default kept");
        assert_eq!(parse("").unwrap(), Budgets::default());
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(matches!(
            parse("[budgets]\nmin_hitrate = 0.9\n"),
            Err(BudgetsProblem::UnknownKey(k)) if k == "min_hitrate"
        ));
        assert!(matches!(
            parse("[budgets]\nmin_hit_rate = 90\n"),
            Err(BudgetsProblem::HitRateNotAFraction(_))
        ));
        assert!(matches!(
            parse("[budgets]\nmax_wall_time_increase = \"fast\"\n"),
            Err(BudgetsProblem::NotANumber(k)) if k == "max_wall_time_increase"
        ));
        assert!(matches!(
            parse("[budgets]\nmax_new_dependencies = -1\n"),
            Err(BudgetsProblem::NotACount)
        ));
        assert!(matches!(
            parse("budgets = 3\n"),
            Err(BudgetsProblem::NotATable)
        ));
        assert!(matches!(parse("[budgets"), Err(BudgetsProblem::Syntax(_))));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let e =
            super::parse(Path::new("/w/kiln.toml"), "[budgets]\nmin_hitrate = 0.9\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read budgets from `/w/kiln.toml`: unknown key `budgets.min_hitrate`"
        );
        assert!(e.hint().contains("`min_hit_rate`"));
    }
}
