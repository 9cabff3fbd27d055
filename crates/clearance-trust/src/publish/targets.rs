//! Changing targets: each kept in top-level targets or in its hash bin
//! (a bin that was not loaded is an error, never a lost change).

use super::*;

impl RepositoryEditor {
    /// Sign `name` (a safe [`TargetName`]) as `target` at the next publish,
    /// in its hash bin when the repository has them.
    pub fn set_target(&mut self, name: &str, target: TargetFile) -> Result<(), PublishError> {
        TargetName::new(name)?;
        match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => {
                self.check_loaded(&bin)?;
                if let Some(role) = self.bins.get_mut(&bin) {
                    role.targets.insert(name.to_owned(), target);
                    self.dirty_bins.insert(bin);
                }
            }
            None => {
                self.targets.targets.insert(name.to_owned(), target);
                self.targets_dirty = true;
                if self.targets.targets.len() > BIN_THRESHOLD && self.delegated.is_empty() {
                    let bins = (self.targets.targets.len() / TARGETS_PER_BIN).next_power_of_two();
                    self.use_bins(bins.trailing_zeros().clamp(4, MAX_BIN_BITS));
                }
            }
        }
        Ok(())
    }

    /// Stop signing `name`; whether it was signed. A bin that was not loaded
    /// is an error ([`PublishError::BinNotLoaded`]).
    pub fn remove_target(&mut self, name: &str) -> Result<bool, PublishError> {
        Ok(match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => {
                self.check_loaded(&bin)?;
                let removed = self
                    .bins
                    .get_mut(&bin)
                    .is_some_and(|r| r.targets.remove(name).is_some());
                if removed {
                    self.dirty_bins.insert(bin);
                }
                removed
            }
            None => {
                let removed = self.targets.targets.remove(name).is_some();
                self.targets_dirty |= removed;
                removed
            }
        })
    }

    /// The entry `name` has where [`RepositoryEditor::set_target`] keeps it (top-level
    /// targets, or its hash bin), if it is signed there.
    pub fn target(&self, name: &str) -> Option<&TargetFile> {
        match self.succinct().map(|s| s.bin_for(name)) {
            Some(bin) => self.bins.get(&bin)?.targets.get(name),
            None => self.targets.targets.get(name),
        }
    }

    /// Every target and its current entry, wherever it is kept (in the
    /// hash bins loaded).
    pub fn all_targets(&self) -> impl Iterator<Item = (&String, &TargetFile)> {
        self.targets
            .targets
            .iter()
            .chain(self.bins.values().flat_map(|b| b.targets.iter()))
            .chain(self.delegated.values().flat_map(|b| b.targets.iter()))
    }
}
