//! What the archive holds, read for people: the stories behind `newswatch stories`.
//!
//! Reads only; the store writes nothing here.

use crate::app::App;
use crate::model::StoryRecord;
use crate::store::StoreError;
pub use crate::store::StoryFilter;

/// The stored stories `filter` selects, newest first, each with its entries (the lead first).
pub async fn list(app: &App, filter: StoryFilter) -> Result<Vec<StoryRecord>, StoreError> {
    app.store(move |s| s.stories(&filter)).await
}
