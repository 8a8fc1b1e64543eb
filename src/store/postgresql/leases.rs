//! The `leases` table (PostgreSQL only): which daemon polls which source, when several daemons
//! share the database. SQLite has one daemon per file (its run lock), so it leases nothing.
//!
//! Times are the server's `now()`: a lease's length is real time on one clock, whatever the
//! machines' clocks say.

use std::time::Duration;

use super::{Postgres, StoreError};
use crate::store::{DaemonSeen, Leased};

impl Postgres {
    pub fn lease(
        &mut self,
        holder: &str,
        sources: &[String],
        most: usize,
        ttl: Duration,
    ) -> Result<Leased, StoreError> {
        if sources.is_empty() || most == 0 {
            return Ok(Leased::default());
        }
        // Sorted: two daemons making the same rows at once take their keys in one order, so
        // neither waits on the other in a circle.
        let mut names = sources.to_vec();
        names.sort_unstable();
        names.dedup();
        let (seconds, most) = (ttl.as_secs_f64(), i64::try_from(most).unwrap_or(i64::MAX));
        self.rt.block_on(async {
            self.client
                .execute(
                    "INSERT INTO leases (source) SELECT unnest($1::text[]) ON CONFLICT (source) DO NOTHING",
                    &[&names],
                )
                .await?;
            // The first `most` free ones, in the order the caller gave. SKIP
            // LOCKED: a row another daemon is leasing this instant is its, not waited for, and
            // this one takes the next free rows instead.
            let granted = self
                .client
                .query(
                    "UPDATE leases SET holder = $1, until = now() + make_interval(secs => $2)
                     WHERE source IN (SELECT source FROM leases
                                      WHERE source = ANY($3) AND (until < now() OR holder = $1)
                                      ORDER BY array_position($4, source)
                                      LIMIT $5
                                      FOR UPDATE SKIP LOCKED)
                     RETURNING source",
                    &[&holder, &seconds, &names, &sources, &most],
                )
                .await?;
            let others: Option<f64> = self
                .client
                .query_one(
                    "SELECT EXTRACT(EPOCH FROM MIN(until) - now())::float8 FROM leases
                     WHERE source = ANY($1) AND holder IS DISTINCT FROM $2 AND until >= now()",
                    &[&names, &holder],
                )
                .await?
                .get(0);
            Ok(Leased {
                granted: granted.iter().map(|r| r.get(0)).collect(),
                others_until: others.map(|s| Duration::from_secs_f64(s.max(0.0))),
            })
        })
    }

    pub fn renew_leases(&mut self, holder: &str, sources: &[String], ttl: Duration) -> Result<usize, StoreError> {
        let renewed = self.rt.block_on(self.client.execute(
            "UPDATE leases SET until = now() + make_interval(secs => $3) WHERE holder = $1 AND source = ANY($2)",
            &[&holder, &sources, &ttl.as_secs_f64()],
        ))?;
        Ok(usize::try_from(renewed).unwrap_or(usize::MAX))
    }

    pub fn release_leases(&mut self, holder: &str, sources: &[String]) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "UPDATE leases SET holder = NULL, until = '-infinity' WHERE holder = $1 AND source = ANY($2)",
            &[&holder, &sources],
        ))?;
        Ok(())
    }
}

impl Postgres {
    pub fn daemon_seen(&mut self, holder: &str) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "INSERT INTO daemons (holder) VALUES ($1) ON CONFLICT (holder) DO UPDATE SET seen = now()",
            &[&holder],
        ))?;
        Ok(())
    }

    pub fn daemon_gone(&mut self, holder: &str) -> Result<(), StoreError> {
        self.rt
            .block_on(self.client.execute("DELETE FROM daemons WHERE holder = $1", &[&holder]))?;
        Ok(())
    }

    pub fn daemons(&self, within: Duration) -> Result<Vec<DaemonSeen>, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT holder, EXTRACT(EPOCH FROM now() - started)::float8, EXTRACT(EPOCH FROM now() - seen)::float8
             FROM daemons WHERE seen > now() - make_interval(secs => $1) ORDER BY started",
            &[&within.as_secs_f64()],
        ))?;
        let secs = |s: f64| s.max(0.0) as u64;
        Ok(rows
            .iter()
            .map(|r| DaemonSeen {
                holder: r.get(0),
                up_secs: secs(r.get(1)),
                seen_secs_ago: secs(r.get(2)),
            })
            .collect())
    }
}
