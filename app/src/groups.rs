//! The groups of the unlocked session as signals: their members and rights
//! (from the engine's `GroupUpdated`), and a group being created. Cleared on
//! lock with the rest.

use leptos::prelude::*;

use crate::engine::GroupView;

/// Signals of the session's groups.
#[derive(Clone, Copy)]
pub struct Groups {
    /// The groups the engine described, by conversation id.
    pub views: RwSignal<Vec<GroupView>>,
    /// A creation was asked and not answered yet.
    pub creating: RwSignal<bool>,
    /// The group just created (its page opens it, then clears this).
    pub created: RwSignal<Option<String>>,
}

impl Groups {
    /// Empty state.
    pub fn new() -> Self {
        Self {
            views: RwSignal::new(Vec::new()),
            creating: RwSignal::new(false),
            created: RwSignal::new(None),
        }
    }

    /// Forgets everything (lock, erase).
    pub fn clear(&self) {
        self.views.set(Vec::new());
        self.creating.set(false);
        self.created.set(None);
    }

    /// Takes the engine's description of a group.
    pub fn apply(&self, view: GroupView) {
        if self.creating.get_untracked() {
            self.creating.set(false);
            self.created.set(Some(view.conversation.clone()));
        }
        self.views.update(|list| {
            list.retain(|g| g.conversation != view.conversation);
            list.push(view);
        });
    }

    /// The group of `conversation`, if described (reactive).
    pub fn view_of(&self, conversation: &str) -> Option<GroupView> {
        self.views.with(|list| {
            list.iter()
                .find(|g| g.conversation == conversation)
                .cloned()
        })
    }

    /// A member's name in the group of `conversation` (reactive).
    pub fn member_name(&self, conversation: &str, handle: &str) -> Option<String> {
        self.views.with(|list| {
            list.iter()
                .find(|g| g.conversation == conversation)?
                .members
                .iter()
                .find(|m| m.handle == handle)
                .map(|m| m.name.clone())
                .filter(|n| !n.is_empty())
        })
    }
}

impl Default for Groups {
    fn default() -> Self {
        Self::new()
    }
}
