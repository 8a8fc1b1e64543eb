//! Leases: when several daemons share a server's database, a due source is polled by the one
//! that leased it. A lease lasts twice `fetch.timeout` and is renewed while the poll runs
//! (`Poller::renew`, called by the daemon), so a daemon that dies lets its sources go within
//! that time and another polls them as soon as they are due. On SQLite (one daemon per file)
//! there is nothing to lease and none of this runs.
//!
//! The order matters: a source is leased first, then its state is read again, so that a poll
//! another daemon finished since the plan's first reading is seen and not done twice; a poll
//! records its result before it gives the lease back.

use std::collections::HashSet;
use std::time::Duration;

use super::{Plan, Poller, SourceReport, decide_all};
use crate::config::{Config, Source};
use crate::poll::PollOutcome;
use crate::schedule::{self, Mode, Skip};
use crate::store::StoreError;

/// How long a lease lasts: a poll's request may take `fetch.timeout`, and a renewal comes at
/// least twice within the lease.
pub fn lease_length(config: &Config) -> Duration {
    config.fetch.timeout.saturating_mul(2).max(Duration::from_secs(1))
}

/// How often the daemon renews the leases of its polls in flight: four times a lease.
pub fn renew_every(config: &Config) -> Duration {
    lease_length(config) / 4
}

/// Who holds a lease: this machine, this process and a random part (a pid is reused).
pub(super) fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
}

impl Poller {
    /// Keeps, of `plan`'s due sources, at most `room` that this process could lease, with
    /// their state read again; the rest are skipped ([`Skip::Leased`]) and the plan's next
    /// time is when the others' leases run out (or soon, for those left for lack of room).
    pub(super) async fn lease_due(
        &self,
        plan: &mut Plan,
        sources: &[Source],
        (mode, room): (Mode, usize),
        holder: &str,
    ) -> Result<(), StoreError> {
        let names: Vec<String> = plan.due.iter().map(|(s, _)| s.name.clone()).collect();
        let ttl = lease_length(&self.app.config);
        let now = crate::clock::now();
        let who = holder.to_string();
        let (leased, fresh) = self
            .app
            .store(move |s| {
                // Taking only what it can poll now leaves the rest to daemons with room: that
                // is how the sources are split between them.
                let leased = s.lease(&who, &names, room, ttl)?;
                let fresh = match leased.granted.is_empty() {
                    true => None,
                    false => Some((s.source_states()?, s.host_holds(now)?)),
                };
                Ok::<_, StoreError>((leased, fresh))
            })
            .await?;
        let granted: HashSet<&str> = leased.granted.iter().map(String::as_str).collect();
        let due = std::mem::take(&mut plan.due);
        for (source, _) in &due {
            if !granted.contains(source.name.as_str()) {
                plan.skipped.push(SourceReport {
                    source: source.name.clone(),
                    outcome: PollOutcome::Skipped(Skip::Leased),
                });
            }
        }
        if granted.len() < due.len() {
            // Its holder polls it and sets its next time; look again when its lease ends.
            let wait = leased
                .others_until
                .and_then(|d| jiff::SignedDuration::try_from(d).ok())
                .unwrap_or(schedule::RETRY_SOON);
            let at = now + wait;
            plan.next = Some(plan.next.map_or(at, |n| n.min(at)));
        }
        let Some((states, holds)) = fresh else {
            return Ok(());
        };
        let mine: Vec<Source> = sources
            .iter()
            .filter(|s| granted.contains(s.name.as_str()))
            .cloned()
            .collect();
        let again = decide_all(&mine, &states, &holds, now, mode);
        plan.due = again.due;
        plan.skipped.extend(again.skipped);
        if let Some(at) = again.next {
            plan.next = Some(plan.next.map_or(at, |n| n.min(at)));
        }
        let polled: HashSet<&str> = plan.due.iter().map(|(s, _)| s.name.as_str()).collect();
        let not_due: Vec<String> = leased
            .granted
            .iter()
            .filter(|n| !polled.contains(n.as_str()))
            .cloned()
            .collect();
        if !not_due.is_empty() {
            self.release(not_due).await;
        }
        Ok(())
    }

    /// Gives back this process's leases on `sources` (polled, or not due after all). A lease
    /// that cannot be given back runs out by itself.
    pub async fn release(&self, sources: Vec<String>) {
        let Some(holder) = self.holder.clone() else {
            return;
        };
        if let Err(e) = self.app.store(move |s| s.release_leases(&holder, &sources)).await {
            tracing::warn!(error = %e, "cannot give leases back; they run out by themselves");
        }
    }

    /// Makes the leases of `sources`, polled now, last another [`lease_length`].
    pub async fn renew(&self, sources: Vec<String>) {
        let Some(holder) = self.holder.clone() else {
            return;
        };
        let (asked, ttl) = (sources.len(), lease_length(&self.app.config));
        match self.app.store(move |s| s.renew_leases(&holder, &sources, ttl)).await {
            Ok(held) if held < asked => {
                tracing::warn!(
                    held,
                    asked,
                    "some leases of polls in flight ran out before their renewal"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot renew the leases of the polls in flight"),
        }
    }

    /// Says this daemon is running, for `status` on every machine (a shared database only).
    pub async fn alive(&self) {
        let Some(holder) = self.holder.clone() else {
            return;
        };
        if let Err(e) = self.app.store(move |s| s.daemon_seen(&holder)).await {
            tracing::warn!(error = %e, "cannot say that this daemon is running");
        }
    }

    /// Says this daemon has stopped.
    pub async fn stopped(&self) {
        let Some(holder) = self.holder.clone() else {
            return;
        };
        if let Err(e) = self.app.store(move |s| s.daemon_gone(&holder)).await {
            tracing::warn!(error = %e, "cannot say that this daemon stopped");
        }
    }

    /// Who this process is in the leases, when its database is shared.
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref()
    }
}
