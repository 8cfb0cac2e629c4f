//! The run's data directory: the relay's database and log.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Context, Res};

/// The run's data directory, removed afterwards unless kept.
pub struct DataDir {
    /// Where it is.
    pub path: PathBuf,
    keep: bool,
}

impl DataDir {
    /// A new directory under `parent` (the system's temporary one by default).
    pub fn create(parent: Option<PathBuf>, keep: bool) -> Res<Self> {
        let parent = parent.unwrap_or_else(std::env::temp_dir);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("estafette-load-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).context(format!(
            "cannot create the data directory {}",
            path.display()
        ))?;
        Ok(Self { path, keep })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.keep {
            println!("data directory kept: {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
