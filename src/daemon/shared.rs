//! What a daemon on a shared (PostgreSQL) database does beside polling: it renews the leases
//! of its polls in flight (`poll::lease`), and says at least twice a minute that it is running,
//! for `status` on every machine. On SQLite none of this exists.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::poll::Poller;

/// How often a daemon says it is running (it wakes at least once a minute): `status` counts
/// one silent for three minutes as gone.
const ALIVE_EVERY: Duration = Duration::from_secs(30);

pub(super) struct Shared {
    /// When the leases of the polls in flight are renewed.
    renewal: tokio::time::Interval,
    said_alive: Instant,
}

impl Shared {
    /// `None` unless the database is shared; says at once that this daemon is running.
    pub(super) async fn start(poller: &Poller, config: &Config) -> Option<Shared> {
        let holder = poller.holder()?;
        poller.alive().await;
        tracing::info!(
            daemon = holder,
            "the database is shared: each source is polled by the daemon that leases it"
        );
        let mut renewal = tokio::time::interval(crate::poll::lease::renew_every(config));
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Some(Shared {
            renewal,
            said_alive: Instant::now(),
        })
    }

    /// Says again that this daemon is running, when it is time to.
    pub(super) async fn beat(&mut self, poller: &Poller) {
        if self.said_alive.elapsed() >= ALIVE_EVERY {
            poller.alive().await;
            self.said_alive = Instant::now();
        }
    }
}

/// When the leases of the polls in flight are due for renewal (never without a shared
/// database).
pub(super) async fn renewal_due(shared: &mut Option<Shared>) {
    match shared {
        Some(s) => {
            s.renewal.tick().await;
        }
        None => std::future::pending().await,
    }
}
