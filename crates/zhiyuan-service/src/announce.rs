//! What one app server tells the others sharing its database, and hears from them: which
//! data kept in memory a change made stale. A server keeps verified sessions for 30 s and
//! the order flow's sites, menus and teams for 10 s; without a word from the server that
//! made a change, the others would serve the old copy that long (a logout, or a role
//! taken away, would still let the token in elsewhere). Each change forgets its copies here
//! at once and writes an announcement; every server reads the new ones every second or so
//! ([`spawn_listener`]) and forgets the same. The expiry times stay as the backstop.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, SiteId, VolunteerId};

use crate::Zhiyuan;
use crate::error::Result;

/// How far back each read looks again, by the database's clock: an announcement stamped
/// before an earlier read but committed after it is still found.
const OVERLAP: Duration = Duration::seconds(5);

/// Announcements read at once; a server that fell behind reads page after page.
const READ_LIMIT: u32 = 1_000;

/// How long announcements are kept: enough for a server that fell behind to catch up.
pub(crate) const KEPT: Duration = Duration::hours(1);

/// Data kept in memory that a change made stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stale {
    /// The principal behind one session (by its token's hash): a logout.
    Session([u8; 32]),
    /// The principals of one account's sessions: it was disabled.
    Account(AccountId),
    /// The principals of one volunteer's sessions: their team roles changed.
    Volunteer(VolunteerId),
    /// One site, and the merged menus that read it.
    Site(SiteId),
    /// Every site's merged menu: a menu item changed, inherited below its site.
    Menus,
    /// Every county's list of teams.
    Teams,
}

impl Stale {
    fn encode(&self) -> String {
        match self {
            Self::Session(hash) => format!("session {}", URL_SAFE_NO_PAD.encode(hash)),
            Self::Account(id) => format!("account {}", id.0),
            Self::Volunteer(id) => format!("volunteer {}", id.0),
            Self::Site(id) => format!("site {}", id.0),
            Self::Menus => "menus".to_owned(),
            Self::Teams => "teams".to_owned(),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let (kind, arg) = text.split_once(' ').unwrap_or((text, ""));
        match (kind, arg) {
            ("session", hash) => URL_SAFE_NO_PAD
                .decode(hash)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Self::Session),
            ("account", id) => id.parse().ok().map(|id| Self::Account(AccountId(id))),
            ("volunteer", id) => id.parse().ok().map(|id| Self::Volunteer(VolunteerId(id))),
            ("site", id) => id.parse().ok().map(|id| Self::Site(SiteId(id))),
            ("menus", "") => Some(Self::Menus),
            ("teams", "") => Some(Self::Teams),
            _ => None,
        }
    }
}

/// An announcement's text: the announcing server, then what is stale.
fn message(instance: u64, stale: &Stale) -> String {
    format!("{instance:016x} {}", stale.encode())
}

/// The server and what it said stale, from an announcement's text; `None` for a text this
/// version does not know (a newer server's), which the reader then treats as "everything".
fn parse(message: &str) -> Option<(u64, Option<Stale>)> {
    let (instance, rest) = message.split_once(' ')?;
    let instance = u64::from_str_radix(instance, 16).ok()?;
    Some((instance, Stale::decode(rest)))
}

impl Zhiyuan {
    /// Forgets here at once what `stale` names, and announces it to the other app servers.
    /// Called after the change is stored. A failed announcement is logged, not returned:
    /// the change is made, and the others' copies still expire on their own.
    pub(crate) async fn forget(&self, stale: Stale) {
        self.drop_cached(Some(&stale));
        let text = message(self.0.instance, &stale);
        if let Err(e) = self.0.store.announce(&text).await {
            tracing::warn!(error = ?e, "announcing stale data to other app servers failed");
        }
    }

    /// Drops what `stale` names from this server's memory; `None` drops everything.
    fn drop_cached(&self, stale: Option<&Stale>) {
        let inner = &self.0;
        match stale {
            Some(Stale::Session(hash)) => inner.principals.forget(hash),
            Some(&Stale::Account(id)) => inner.principals.forget_where(move |p| p.account == id),
            Some(&Stale::Volunteer(id)) => {
                inner
                    .principals
                    .forget_where(move |p| p.volunteer == Some(id));
            }
            Some(Stale::Site(id)) => {
                inner.sites.forget(id);
                inner.menus.forget_all();
            }
            Some(Stale::Menus) => inner.menus.forget_all(),
            Some(Stale::Teams) => inner.teams.forget_all(),
            None => {
                inner.principals.clear();
                inner.sites.forget_all();
                inner.menus.forget_all();
                inner.teams.forget_all();
            }
        }
    }
}

/// Reads what the other app servers announce and forgets what they name.
#[derive(Debug, Default)]
pub struct Listener {
    /// The newest stamp read (the database's clock); `None` before the first read.
    since: Option<OffsetDateTime>,
    /// Announcements already read within the overlap, by id.
    seen: HashMap<i64, OffsetDateTime>,
}

impl Listener {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the announcements made since the last call and forgets, on `app`, what those
    /// of other servers name. Returns how many of theirs it applied. The first call only
    /// notes where to start: what was announced before it returns concerns copies made
    /// before, so it must return before `app` keeps any copy ([`spawn_listener`]).
    pub async fn listen(&mut self, app: &Zhiyuan) -> Result<usize> {
        let store = app.store();
        let Some(since) = self.since else {
            let now = store.announcement_clock().await?;
            for a in store.announcements_since(now - OVERLAP, READ_LIMIT).await? {
                self.seen.insert(a.id, a.at);
            }
            self.since = Some(now);
            return Ok(0);
        };
        let mut applied = 0;
        let mut newest = since;
        let mut from = since - OVERLAP;
        loop {
            let read = store.announcements_since(from, READ_LIMIT).await?;
            let full = read.len() == READ_LIMIT as usize;
            for a in read {
                newest = newest.max(a.at);
                if self.seen.insert(a.id, a.at).is_some() {
                    continue;
                }
                match parse(&a.message) {
                    Some((instance, _)) if instance == app.0.instance => continue,
                    Some((_, stale)) => app.drop_cached(stale.as_ref()),
                    None => app.drop_cached(None),
                }
                applied += 1;
            }
            if !full {
                break;
            }
            // Read on from the newest stamp. A page all of one stamp could not move on:
            // what follows it unread, everything is forgotten instead.
            if newest == from {
                app.drop_cached(None);
                break;
            }
            from = newest;
        }
        self.since = Some(newest);
        self.seen.retain(|_, at| *at >= newest - OVERLAP);
        Ok(applied)
    }
}

/// Starts a [`Listener`], then runs it every `every` until the app stops. Call it before
/// the server serves: its first read notes where to start and applies nothing, which is
/// right only while this server holds no copy that an announcement then could concern.
pub async fn spawn_listener(
    app: Zhiyuan,
    every: std::time::Duration,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut listener = Listener::new();
    listener.listen(&app).await?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = listener.listen(&app).await {
                tracing::warn!(error = ?e, "reading other app servers' announcements failed");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_stale_data_reads_back_as_announced() {
        let kinds = [
            Stale::Session([7; 32]),
            Stale::Account(AccountId(8)),
            Stale::Volunteer(VolunteerId(9)),
            Stale::Site(SiteId(42)),
            Stale::Menus,
            Stale::Teams,
        ];
        for stale in kinds {
            let text = message(0xfeed, &stale);
            assert_eq!(parse(&text), Some((0xfeed, Some(stale))), "{text}");
        }
    }

    #[test]
    fn an_unknown_announcement_names_its_server_and_nothing_known() {
        assert_eq!(parse("00000000000000ff ledger 3"), Some((0xff, None)));
        assert_eq!(parse("00000000000000ff session short"), Some((0xff, None)));
        assert_eq!(parse("not-hex teams"), None);
    }
}
