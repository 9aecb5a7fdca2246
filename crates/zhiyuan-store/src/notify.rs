//! Notifications: the in-app inbox, outbound subscriptions (signed webhooks, e-mail) and
//! their outbox. Events are audit entries: the backend queues each notifiable entry in the
//! transaction that writes it (see the `0016_notifications`, `0021_overdue_flags` and
//! `0023_activity_events` migrations).

use time::OffsetDateTime;
use zhiyuan_domain::ids::AccountId;
use zhiyuan_domain::region::RegionCode;

/// The audit actions that are events, queued for the relay: every action of a prefix
/// (ending in a dot), and single actions. Subscriptions ask for these or actions of the
/// prefixes. The migrations' trigger lists the same.
pub const EVENTS: [&str; 21] = [
    "order.",
    "call.",
    "qualification.",
    "records.",
    "membership.apply",
    "membership.update",
    "record.report",
    "record.decide",
    "correction.request",
    "correction.omission",
    "correction.decide",
    "stars.apply",
    "stars.objection",
    "stars.decide",
    "project.status",
    "shift.cancel",
    "signup.decide",
    "signup.promote",
    "signup.cancel",
    "signup.absent",
    "signup.reinstate",
];

/// Every action of the prefixes of [`EVENTS`]: a subscription may name one alone. Each
/// action audited under a prefix must be listed: the service's `Ctx::audit` checks it in
/// debug builds, which the test suites run.
pub const PREFIXED_EVENTS: [&str; 20] = [
    "order.submit",
    "order.verify",
    "order.refuse",
    "order.assign",
    "order.offer",
    "order.accept",
    "order.grab",
    "order.decline",
    "order.escalate",
    "order.recall",
    "order.complete",
    "order.cancel",
    "order.overdue",
    "order.rate",
    "order.activity",
    "call.issue",
    "call.answer",
    "qualification.add",
    "qualification.decide",
    "records.overdue",
];

/// Whether a subscription may ask for `name`: an event or prefix of [`EVENTS`], or an
/// action of [`PREFIXED_EVENTS`]. A name under a prefix that no action bears (a typo such
/// as `order.asign`) would match nothing.
pub fn is_subscribable(name: &str) -> bool {
    EVENTS.contains(&name) || PREFIXED_EVENTS.contains(&name)
}

/// What a subscription may ask for where it asked for `name`, which is not subscribable:
/// under a known prefix (`order.asign`), the prefix and its actions; else [`EVENTS`].
pub fn subscribable_instead(name: &str) -> Vec<&'static str> {
    let under: Vec<&'static str> = EVENTS
        .iter()
        .filter(|p| p.ends_with('.') && name.starts_with(*p))
        .flat_map(|&p| {
            let actions = PREFIXED_EVENTS.iter().filter(move |a| a.starts_with(p));
            std::iter::once(p).chain(actions.copied())
        })
        .collect();
    if under.is_empty() {
        EVENTS.to_vec()
    } else {
        under
    }
}

/// Whether an audit action is a notifiable event.
pub fn is_event(action: &str) -> bool {
    EVENTS.iter().any(|e| match e.ends_with('.') {
        true => action.starts_with(e),
        false => action == *e,
    })
}

/// How a subscription is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// An HTTPS POST of the event, signed with HMAC-SHA256 of the subscription's secret.
    Webhook,
    /// A short text message over SMTP.
    Email,
}

impl ChannelKind {
    pub const ALL: [Self; 2] = [Self::Webhook, Self::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A jurisdiction's outbound channel: the events (action prefixes) of its region subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub region: RegionCode,
    pub channel: ChannelKind,
    /// A URL for a webhook, an address for e-mail.
    pub destination: String,
    /// The webhook signing key.
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub sub: NewSubscription,
    pub active: bool,
}

impl Subscription {
    /// Whether an event of `action` in `region` goes to this subscription.
    pub fn wants(&self, action: &str, region: Option<RegionCode>) -> bool {
        self.active
            && region.is_some_and(|r| self.sub.region.contains(r))
            && self
                .sub
                .events
                .iter()
                .any(|e| action.starts_with(e.as_str()))
    }
}

/// One message for one account's inbox, from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub account: AccountId,
    pub audit_id: i64,
    pub event: String,
    pub subject_type: String,
    pub subject_id: String,
    pub text: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub note: NewNotification,
    pub read_at: Option<OffsetDateTime>,
}

/// One event to send through one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub subscription: i64,
    pub audit_id: i64,
    pub event: String,
    pub payload: serde_json::Value,
    pub at: OffsetDateTime,
}

/// A delivery claimed for sending, with where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub subscription: Subscription,
    pub event: String,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i32,
}

/// A delivery as its subscriber's administrator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub audit_id: i64,
    pub event: String,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

/// How sending a delivery went.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { at: OffsetDateTime, error: String },
    GiveUp { error: String },
}

#[cfg(test)]
mod tests {
    use super::{EVENTS, PREFIXED_EVENTS, is_event, is_subscribable, subscribable_instead};

    /// Each action listed under a prefix is an event by that prefix, listed once, and not
    /// an event of its own in `EVENTS`.
    #[test]
    fn every_prefixed_action_is_an_event_of_its_prefix() {
        for (i, action) in PREFIXED_EVENTS.iter().enumerate() {
            assert!(is_event(action), "{action}");
            assert!(
                EVENTS
                    .iter()
                    .any(|e| e.ends_with('.') && action.starts_with(e)),
                "{action} has no prefix in EVENTS"
            );
            assert!(!EVENTS.contains(action), "{action}");
            assert!(!PREFIXED_EVENTS[..i].contains(action), "{action} twice");
        }
    }

    /// A subscription names a prefix, a single event or an action of a prefix; a name
    /// under a prefix that no action bears, or outside the events, is refused.
    #[test]
    fn subscriptions_name_prefixes_events_and_actions_but_not_typos() {
        for name in [
            "order.",
            "order.assign",
            "records.overdue",
            "signup.promote",
        ] {
            assert!(is_subscribable(name), "{name}");
        }
        for name in ["order.asign", "order.x", "order", "volunteer.update", ""] {
            assert!(!is_subscribable(name), "{name}");
        }
    }

    /// A name refused under a known prefix is answered with that prefix's names, each
    /// subscribable; any other with every prefix and single event.
    #[test]
    fn a_refused_name_is_answered_with_its_prefixs_names_or_all_events() {
        let call = subscribable_instead("call.isue");
        assert_eq!(call, ["call.", "call.issue", "call.answer"]);
        let order = subscribable_instead("order.asign");
        assert_eq!(order.len(), 16);
        assert!(order.contains(&"order.assign"));
        assert!(
            order
                .iter()
                .all(|n| n.starts_with("order.") && is_subscribable(n))
        );
        assert_eq!(subscribable_instead("volunteer.update"), EVENTS);
        assert_eq!(subscribable_instead("order"), EVENTS);
    }
}
