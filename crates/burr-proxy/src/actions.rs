//! What an HTTP listener does with a request: its rules ([`crate::routing`]) compiled against
//! the snapshot's pools into [`RuntimeAction`]s, and the one decision both HTTP paths (the
//! HTTP/1.1 fast path and hyper's) take from them: forward to a pool (with the pool chosen by
//! weight and group stickiness when the action names several), or answer from the balancer
//! itself (fixed response, redirect, or 503 when every pool's weight is 0). Each path only
//! writes the answer in its own form ([`Answer::write_h1`], [`Answer::into_response`]).
//!
//! Compiled once per snapshot: a forward's pools are `Arc`s of the snapshot's pool runtimes,
//! a fixed response's head fields are ready-made, so evaluating needs no map lookup and no
//! allocation (a redirect builds its `Location`; a weighted sticky forward reads the Cookie fields
//! in place and seals its token inline).

use crate::clock::Clock;
use crate::routing::{HeaderSource, ListenerRules, RequestView, strip_port};
use crate::runtime::PoolRuntime;
use arc_swap::ArcSwap;
use burr_affinity::groups;
use burr_affinity::sticky::SetCookies;
use burr_affinity::token::{KeyRing, TokenText};
use burr_model::PoolId;
use burr_model::routing::{Action, FixedResponse, Redirect, RequestParts};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;

/// Request bodies a balancer answer reads and discards to keep the connection (larger ones
/// close it instead: reading them would cost more than a new connection).
pub const MAX_DISCARDED_BODY: u64 = 64 * 1024;

/// An action with the pools it names resolved.
pub enum RuntimeAction {
    /// To one pool: today's forwarding, stickiness and retries with that pool.
    Forward(Arc<PoolRuntime>),
    /// To one of several weighted pools.
    Groups(Groups),
    Fixed(FixedReply),
    Redirect(Redirect),
}

impl RuntimeAction {
    /// Index into [`crate::metrics::ListenerStats::actions`].
    pub fn kind(&self) -> usize {
        match self {
            Self::Forward(_) | Self::Groups(_) => 0,
            Self::Fixed(_) => 1,
            Self::Redirect(_) => 2,
        }
    }
}

/// The action types, as counted.
pub const ACTION_KINDS: [&str; 3] = ["forward", "fixed-response", "redirect"];

/// A forward to several pools by weight, with optional group stickiness.
pub struct Groups {
    pools: Vec<Arc<PoolRuntime>>,
    /// Each pool's id and weight, in the action's order.
    weights: Vec<(PoolId, u32)>,
    stickiness_secs: Option<u32>,
    keys: Arc<ArcSwap<KeyRing>>,
    clock: Arc<Clock>,
}

/// A fixed response, ready to write.
pub struct FixedReply {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// What compiling an action needs.
pub struct ActionContext<'a> {
    pub pools: &'a HashMap<String, Arc<PoolRuntime>>,
    pub keys: &'a Arc<ArcSwap<KeyRing>>,
    pub clock: &'a Arc<Clock>,
}

impl RuntimeAction {
    /// Resolves `action`'s pools; an unknown pool (which validation refuses) is an error.
    pub fn compile(action: &Action, context: &ActionContext<'_>) -> Result<Self, String> {
        let pool = |name: &str| {
            context
                .pools
                .get(name)
                .cloned()
                .ok_or_else(|| format!("pool \"{name}\" does not exist"))
        };
        Ok(match action {
            Action::Forward(forward) => {
                let groups: Vec<(&str, u32)> = forward.groups().collect();
                match groups.as_slice() {
                    // One pool (`pool`, or `pools` with one entry and no group stickiness) is a
                    // plain forward; a lone pool of weight 0 still takes nothing new.
                    [(name, weight)] if *weight > 0 && forward.stickiness_secs.is_none() => {
                        Self::Forward(pool(name)?)
                    }
                    _ => Self::Groups(Groups {
                        pools: groups
                            .iter()
                            .map(|(name, _)| pool(name))
                            .collect::<Result<_, _>>()?,
                        weights: groups
                            .iter()
                            .map(|(name, w)| (PoolId::of(name), *w))
                            .collect(),
                        stickiness_secs: forward.stickiness_secs,
                        keys: context.keys.clone(),
                        clock: context.clock.clone(),
                    }),
                }
            }
            Action::FixedResponse(fixed) => Self::Fixed(FixedReply::of(fixed)?),
            Action::Redirect(redirect) => Self::Redirect(redirect.clone()),
        })
    }

    /// Whether this action reads and renews group cookies (so they are stripped from requests).
    pub fn sticky_groups(&self) -> bool {
        matches!(self, Self::Groups(g) if g.stickiness_secs.is_some())
    }
}

impl FixedReply {
    fn of(fixed: &FixedResponse) -> Result<Self, String> {
        let status = StatusCode::from_u16(fixed.status)
            .map_err(|_| format!("fixed-response status {} is not a status", fixed.status))?;
        let content_type = fixed
            .content_type
            .as_deref()
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|e| format!("fixed-response content_type: {e}"))?;
        Ok(Self {
            status,
            content_type,
            body: Bytes::from(fixed.body.clone().unwrap_or_default()),
        })
    }
}

/// A listener's compiled rules, with what the request path needs to know about them.
pub struct CompiledRules {
    pub rules: ListenerRules<RuntimeAction>,
    /// Some action keeps group cookies: strip `AWSALBTG*` from what targets see.
    pub strips_group_cookies: bool,
}

impl CompiledRules {
    pub fn compile(
        listener: &burr_model::Listener,
        context: &ActionContext<'_>,
    ) -> Result<Self, String> {
        let rules = ListenerRules::compile_with(
            &listener.rules,
            &listener.effective_default_action(),
            |a| RuntimeAction::compile(a, context),
        )?;
        let strips_group_cookies = rules.actions().any(RuntimeAction::sticky_groups);
        Ok(Self {
            rules,
            strips_group_cookies,
        })
    }
}

/// What a request needs besides the matcher's view: for redirects and group cookies.
pub struct RequestContext {
    /// The listener terminates TLS (`#{protocol}` is `HTTPS`).
    pub https: bool,
    /// The listener's port (`#{port}`).
    pub port: u16,
}

/// Where a request goes.
pub enum Outcome<'l> {
    Forward {
        pool: &'l Arc<PoolRuntime>,
        /// The group cookie to set on the response (a weighted forward with group stickiness).
        group: Option<GroupCookie>,
    },
    /// Answered by the balancer.
    Answer(Answer<'l>),
}

/// The decision with what metrics count of it.
pub struct Routed<'l> {
    pub outcome: Outcome<'l>,
    /// Index into [`ACTION_KINDS`].
    pub kind: usize,
    /// The matching rule's priority; `None` for the default action.
    pub priority: Option<u32>,
    /// What the request sent to a target loses.
    pub strip: crate::canary::Strip<'l>,
    /// The canary arm's marks on the response (a listener with a deployment policy).
    pub mark: Option<crate::canary::ArmMark<'l>>,
}

/// The group cookie of a response.
pub struct GroupCookie {
    token: TokenText,
    now: u64,
    duration_secs: u32,
}

impl GroupCookie {
    /// Writes `AWSALBTG` and `AWSALBTGCORS`.
    pub fn write(&self, out: &mut impl SetCookies) {
        groups::set_cookies(&self.token, self.now, self.duration_secs, out);
    }
}

/// A response the balancer gives itself.
pub enum Answer<'l> {
    Fixed(&'l FixedReply),
    Redirect {
        status: StatusCode,
        location: String,
    },
    /// A weighted forward whose pools all have weight 0, for a client no group cookie keeps.
    NoGroup,
}

/// Evaluates the rules for a request and settles where it goes. `cookies` are its `Cookie`
/// field values (read only by a weighted forward with group stickiness).
pub fn route<'l, 'r, H: HeaderSource + ?Sized>(
    rules: &'l CompiledRules,
    request: &RequestView<'r, H>,
    context: &RequestContext,
) -> Routed<'l> {
    let decision = if rules.rules.is_empty() {
        // The common listener without rules: the request need not be looked at.
        crate::routing::Decision {
            action: rules.rules.default_action(),
            priority: None,
        }
    } else {
        rules.rules.evaluate(request)
    };
    let outcome = match decision.action {
        RuntimeAction::Forward(pool) => Outcome::Forward { pool, group: None },
        RuntimeAction::Groups(groups) => groups.choose(request),
        RuntimeAction::Fixed(fixed) => Outcome::Answer(Answer::Fixed(fixed)),
        RuntimeAction::Redirect(redirect) => {
            Outcome::Answer(redirect_answer(redirect, request, context))
        }
    };
    Routed {
        outcome,
        kind: decision.action.kind(),
        priority: decision.priority,
        strip: crate::canary::Strip {
            group_cookies: rules.strips_group_cookies,
            ..Default::default()
        },
        mark: None,
    }
}

impl Groups {
    fn choose<H: HeaderSource + ?Sized>(&self, request: &RequestView<'_, H>) -> Outcome<'_> {
        let random = rand::random::<u64>();
        let Some(secs) = self.stickiness_secs else {
            return match groups::weighted_index(self.weights.iter().map(|(_, w)| *w), random) {
                Some(i) => Outcome::Forward {
                    pool: &self.pools[i],
                    group: None,
                },
                None => Outcome::Answer(Answer::NoGroup),
            };
        };
        let ring = self.keys.load();
        let now = self.clock.unix_now();
        // Read field by field through the callback: no list of fields is built.
        let mut kept = None;
        request.headers.any_value(&header::COOKIE, |field| {
            kept = groups::kept_index(&ring, field, &self.weights, now);
            kept.is_some()
        });
        let drawn = || groups::weighted_index(self.weights.iter().map(|(_, w)| *w), random);
        let Some(index) = kept.or_else(drawn) else {
            return Outcome::Answer(Answer::NoGroup);
        };
        // Sealed on every response: `Expires` slides, and so does the token's own end.
        let token = groups::seal(&ring, self.weights[index].0, now, secs, rand::random());
        Outcome::Forward {
            pool: &self.pools[index],
            group: Some(GroupCookie {
                token,
                now,
                duration_secs: secs,
            }),
        }
    }
}

fn redirect_answer<'l, H: HeaderSource + ?Sized>(
    redirect: &Redirect,
    request: &RequestView<'_, H>,
    context: &RequestContext,
) -> Answer<'l> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let host = request
        .host
        .map(|h| text(strip_port(h)))
        .unwrap_or_default();
    let path = text(request.path);
    let query = request.query.map(text).unwrap_or_default();
    let parts = RequestParts {
        protocol: if context.https { "HTTPS" } else { "HTTP" },
        host: &host,
        port: context.port,
        path: &path,
        query: &query,
    };
    Answer::Redirect {
        status: StatusCode::from_u16(redirect.status.code()).unwrap_or(StatusCode::FOUND),
        location: redirect.location(&parts),
    }
}

const NO_GROUP_TEXT: &str = "service unavailable: every pool of the forward action has weight 0\n";

impl Answer<'_> {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Fixed(f) => f.status,
            Self::Redirect { status, .. } => *status,
            Self::NoGroup => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The whole HTTP/1.1 response into `out` (cleared first); `head` says it answers a HEAD
    /// request (no body, the length it would have); `mark`, the canary arm's cookie and header.
    pub fn write_h1(
        &self,
        out: &mut Vec<u8>,
        close: bool,
        head: bool,
        mark: Option<&crate::canary::ArmMark<'_>>,
    ) {
        use std::io::Write;
        out.clear();
        let status = self.status();
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap_or("")
        );
        let body: &[u8] = match self {
            Self::Fixed(f) => {
                if let Some(ct) = &f.content_type {
                    out.extend_from_slice(b"Content-Type: ");
                    out.extend_from_slice(ct.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                &f.body
            }
            Self::Redirect { location, .. } => {
                out.extend_from_slice(b"Location: ");
                out.extend_from_slice(location.as_bytes());
                out.extend_from_slice(b"\r\n");
                b""
            }
            Self::NoGroup => {
                out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
                NO_GROUP_TEXT.as_bytes()
            }
        };
        if let Some(mark) = mark {
            mark.write_h1(out);
        }
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head {
            out.extend_from_slice(body);
        }
    }

    /// The response for hyper (HTTP/2, and HTTP/1.x off the fast path).
    pub fn into_response(self) -> http::Response<Bytes> {
        let status = self.status();
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match self {
            Self::Fixed(f) => {
                if let Some(ct) = &f.content_type {
                    headers.insert(header::CONTENT_TYPE, ct.clone());
                }
                *response.body_mut() = f.body.clone();
            }
            Self::Redirect { location, .. } => {
                if let Ok(value) = HeaderValue::from_str(&location) {
                    headers.insert(header::LOCATION, value);
                }
            }
            Self::NoGroup => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                *response.body_mut() = Bytes::from_static(NO_GROUP_TEXT.as_bytes());
            }
        }
        response
    }
}
