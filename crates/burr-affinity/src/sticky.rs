//! The affinity engine for cookie sessions: which target a request is bound to, and which
//! cookies the response carries.
//!
//! Sans-IO, in two steps around the proxy's own work. [`Engine::decide`] reads burr's cookies
//! from the request, opens the token, and checks it against the policy, the pool as the data
//! plane sees it now ([`PoolView`]) and `now`: the answer is a pinned target, "choose one with
//! the algorithm", or "refuse" (strict pools), with the [`Reason`] for metrics. After the proxy
//! has a target and the response head, [`Engine::response_cookies`] writes the `Set-Cookie`
//! values the mode calls for. Time (UTC seconds) and nonces come in as arguments; keys come from
//! the [`KeyRing`].
//!
//! The modes, as AWS defines them:
//! - LB cookie, Classic (`AWSELB`): set when a session is pinned (not on every response), with
//!   `Max-Age` = the period; period 0 = a browser-session cookie. The token expires at
//!   `issued_at + period`, enforced here whatever the browser does.
//! - LB cookie, ALB (`AWSALB` + `AWSALBCORS`): set on every response, `Expires` = now + duration;
//!   the session ends `duration` seconds after the last response.
//! - App cookie, Classic (`AWSELB`): issued only when a response sets the application cookie,
//!   copying its attributes and lifetime; a request without the application cookie is not sticky.
//! - App cookie, ALB (`AWSALBAPP`): issued when a response sets the application cookie and
//!   renewed on every sticky response, `Expires` fixed at 7 days, the configured duration
//!   checked inside the token against its last-seen time; stickiness needs both cookies.

use crate::cookies::{self, AppCookieAttributes, HttpDate};
use crate::token::{KeyRing, NONCE_BYTES, SESSION_BITS, TokenBody, TokenError, TokenText};
use burr_model::{
    CookieAttributes, CookieFlavour, DrainMode, OnTargetDown, Pool, PoolId, StickinessKind,
    TargetId,
};
use xxhash_rust::xxh3::xxh3_64;

/// `AWSALBAPP`'s fixed cookie lifetime: 7 days.
pub const ALB_APP_COOKIE_SECS: u64 = 7 * 24 * 3600;

/// Why a request went where it went. Every decision has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A valid session to an available target.
    Hit,
    /// No session cookie (or not a sticky request): chosen by the algorithm.
    New,
    /// The token's lifetime ended, its key is past its grace, or the policy changed.
    Expired,
    /// The cookie did not open: forged, altered, truncated or not burr's.
    Tampered,
    /// The token names another pool, or a target no longer registered.
    UnknownTarget,
    /// The bound target is down: re-pinned.
    TargetDown,
    /// The bound target is draining (rerouted, or past its deadline): re-pinned.
    Draining,
    /// Back to the session's first target, healthy again.
    FailBack,
    /// The bound target is down and the pool is strict: 503.
    Strict503,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Self::Hit,
        Self::New,
        Self::Expired,
        Self::Tampered,
        Self::UnknownTarget,
        Self::TargetDown,
        Self::Draining,
        Self::FailBack,
        Self::Strict503,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::New => "new",
            Self::Expired => "expired",
            Self::Tampered => "tampered",
            Self::UnknownTarget => "unknown_target",
            Self::TargetDown => "target_down",
            Self::Draining => "draining",
            Self::FailBack => "fail_back",
            Self::Strict503 => "strict_503",
        }
    }

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// How a target stands for sticky sessions right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Registered, healthy, taking new sessions.
    Available,
    /// Failing health checks or refusing connections.
    Down,
    /// No new sessions; sessions may stay until `deadline` (UTC seconds; `None`: weight 0,
    /// no deadline).
    Draining { deadline: Option<u64> },
}

/// The pool as the data plane sees it.
pub trait PoolView {
    /// The target with this stable id: its index in the pool and its standing.
    fn find(&self, id: TargetId) -> Option<(usize, Standing)>;
    /// The standing of the target at `index`, if there is one.
    fn standing_at(&self, index: usize) -> Option<Standing>;
    /// Open connections (TCP connections, UDP flows) to the target at `index`: the load
    /// least-connections placement of source-IP sessions balances.
    fn connections_at(&self, _index: usize) -> u64 {
        0
    }
}

/// Which cookie mode, with its lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `AWSELB`: lifetime from issue; 0 = browser session.
    LbCookieClassic { period_secs: u64 },
    /// `AWSALB` + `AWSALBCORS`: lifetime from the last response.
    LbCookieAlb { duration_secs: u64 },
    /// `AWSELB` following the application cookie `app_cookie`.
    AppCookieClassic { app_cookie: String },
    /// `AWSALBAPP` beside the application cookie `app_cookie`.
    AppCookieAlb {
        app_cookie: String,
        duration_secs: u64,
    },
}

/// Version of the encoding of a [`Mode`] that [`policy_generation`] hashes. Tokens carry the
/// hash, so changing the encoding (a new version) ends every live session once, counted as
/// `expired`; the golden test pins the values so that never happens by accident.
pub const POLICY_ENCODING_VERSION: u8 = 1;

/// The policy generation of `mode`: the low 32 bits of the XXH3-64 of its encoding.
pub fn policy_generation(mode: &Mode) -> u32 {
    let mut encoded = Vec::with_capacity(64);
    encode_mode(mode, &mut encoded);
    xxh3_64(&encoded) as u32
}

/// Encoding version 1 of a mode, written out field by field: `LbCookieClassic { period_secs:
/// 3600 }`, `LbCookieAlb { duration_secs: 600 }`, `AppCookieClassic { app_cookie: "name" }`,
/// `AppCookieAlb { app_cookie: "name", duration_secs: 600 }`; numbers in decimal, the cookie
/// name between double quotes with `"` and `\` escaped by a backslash.
///
/// This is the text burr hashed before the encoding was made explicit (the derived `Debug`
/// output, which is no stable format): for every cookie name the model allows (HTTP token
/// characters) it is byte for byte the same, so the generations of live sessions did not
/// change with it.
fn encode_mode(mode: &Mode, out: &mut Vec<u8>) {
    use std::io::Write;
    let quoted = |out: &mut Vec<u8>, text: &str| {
        out.push(b'"');
        for &b in text.as_bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    };
    // Writing to a Vec cannot fail.
    let _ = match mode {
        Mode::LbCookieClassic { period_secs } => {
            write!(out, "LbCookieClassic {{ period_secs: {period_secs} }}")
        }
        Mode::LbCookieAlb { duration_secs } => {
            write!(out, "LbCookieAlb {{ duration_secs: {duration_secs} }}")
        }
        Mode::AppCookieClassic { app_cookie } => {
            out.extend_from_slice(b"AppCookieClassic { app_cookie: ");
            quoted(out, app_cookie);
            write!(out, " }}")
        }
        Mode::AppCookieAlb {
            app_cookie,
            duration_secs,
        } => {
            out.extend_from_slice(b"AppCookieAlb { app_cookie: ");
            quoted(out, app_cookie);
            write!(out, ", duration_secs: {duration_secs} }}")
        }
    };
}

/// A pool's cookie-stickiness policy, compiled from the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub pool: PoolId,
    pub mode: Mode,
    /// Changes whenever the mode or its cookie does, so tokens of an earlier policy lapse.
    pub generation: u32,
    pub on_target_down: OnTargetDown,
    pub fail_back: bool,
    pub drain_mode: DrainMode,
    pub attributes: CookieAttributes,
    pub strip_cookie: bool,
    /// `attributes` as `Set-Cookie` text (`; Path=/…`), made once per policy.
    attribute_text: String,
    /// The attributes of `AWSALBCORS`: the path and domain, then `SameSite=None; Secure`.
    cors_attribute_text: String,
    /// `; Max-Age=<period>` for a Classic LB cookie with a period; empty otherwise.
    max_age_text: String,
}

impl Policy {
    /// The cookie policy of `pool`, or `None` when the pool has no cookie stickiness.
    pub fn of(pool: &Pool) -> Option<Self> {
        let s = &pool.stickiness;
        let duration = u64::from(s.duration_secs(pool.origin));
        let app_cookie = s.cookie_name.clone().unwrap_or_default();
        let mode = match (s.kind, s.flavour) {
            (StickinessKind::LbCookie, CookieFlavour::Classic) => Mode::LbCookieClassic {
                period_secs: duration,
            },
            (StickinessKind::LbCookie, CookieFlavour::Alb) => Mode::LbCookieAlb {
                duration_secs: duration.max(1),
            },
            (StickinessKind::AppCookie, CookieFlavour::Classic) => {
                Mode::AppCookieClassic { app_cookie }
            }
            (StickinessKind::AppCookie, CookieFlavour::Alb) => Mode::AppCookieAlb {
                app_cookie,
                duration_secs: duration.max(1),
            },
            _ => return None,
        };
        let generation = policy_generation(&mode);
        Some(Self {
            pool: pool.id(),
            generation,
            on_target_down: s.on_target_down,
            fail_back: s.fail_back,
            drain_mode: pool.draining.mode,
            attributes: s.cookie.clone(),
            strip_cookie: s.strip_cookie,
            attribute_text: attribute_text(&s.cookie),
            cors_attribute_text: cors_attribute_text(&s.cookie),
            max_age_text: match mode {
                Mode::LbCookieClassic { period_secs } if period_secs > 0 => {
                    format!("; Max-Age={period_secs}")
                }
                _ => String::new(),
            },
            mode,
        })
    }

    /// The cookie that carries burr's token in this mode.
    pub fn cookie_name(&self) -> &'static str {
        match self.mode {
            Mode::LbCookieClassic { .. } | Mode::AppCookieClassic { .. } => "AWSELB",
            Mode::LbCookieAlb { .. } => "AWSALB",
            Mode::AppCookieAlb { .. } => "AWSALBAPP",
        }
    }

    /// Every cookie burr sets in this mode (removed from requests before forwarding).
    pub fn own_cookies(&self) -> &'static [&'static str] {
        match self.mode {
            Mode::LbCookieAlb { .. } => &["AWSALB", "AWSALBCORS"],
            Mode::LbCookieClassic { .. } | Mode::AppCookieClassic { .. } => &["AWSELB"],
            Mode::AppCookieAlb { .. } => &["AWSALBAPP"],
        }
    }

    /// The application cookie an app-cookie mode follows.
    pub fn app_cookie(&self) -> Option<&str> {
        match &self.mode {
            Mode::AppCookieClassic { app_cookie } | Mode::AppCookieAlb { app_cookie, .. } => {
                Some(app_cookie)
            }
            _ => None,
        }
    }

    /// Whether a token still holds at `now`, by the mode's lifetime rules. A lifetime of `n`
    /// seconds ends at exactly `start + n`, as a cookie with `Max-Age=n` does.
    fn token_lives(&self, token: &TokenBody, now: u64) -> bool {
        match &self.mode {
            Mode::LbCookieClassic { period_secs } => {
                *period_secs == 0 || now < token.issued_at.saturating_add(*period_secs)
            }
            Mode::LbCookieAlb { duration_secs } | Mode::AppCookieAlb { duration_secs, .. } => {
                now < token.last_seen.saturating_add(*duration_secs)
            }
            Mode::AppCookieClassic { .. } => token.expires_at == 0 || now < token.expires_at,
        }
    }
}

/// What the engine reads from a request.
#[derive(Debug, Default, Clone)]
pub struct RequestCookies<'a> {
    /// Values of burr's token cookie, in the order the client sent them.
    pub tokens: Tokens<'a>,
    /// Whether the application cookie is present (app-cookie modes).
    pub app_cookie_present: bool,
    /// Whether any cookie other than burr's own was sent (when none was, stripping burr's
    /// cookies removes the whole `Cookie` header).
    pub others_present: bool,
}

impl<'a> RequestCookies<'a> {
    /// Reads burr's cookie and the application cookie out of `Cookie` header values. In the
    /// ALB LB-cookie mode `AWSALBCORS` carries the same token as `AWSALB` (for cross-origin
    /// requests, where only a `SameSite=None` cookie is sent), so either is read, as ALB does.
    pub fn read(policy: &Policy, headers: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let own = policy.cookie_name().as_bytes();
        let cors = matches!(policy.mode, Mode::LbCookieAlb { .. }).then_some(&b"AWSALBCORS"[..]);
        let app = policy.app_cookie().map(str::as_bytes);
        let mut found = Self::default();
        for segment in headers.into_iter().flat_map(cookies::segments) {
            match cookies::pair(segment) {
                Some((name, value)) if name == own || Some(name) == cors => {
                    found.tokens.push(value);
                }
                Some((name, _)) => {
                    found.others_present = true;
                    if Some(name) == app {
                        found.app_cookie_present = true;
                    }
                }
                // A segment without `=` is not a pair burr reads, but it is a cookie (browsers
                // send a nameless cookie as its bare value), so it must survive stripping.
                None if !segment.trim_ascii().is_empty() => found.others_present = true,
                None => {}
            }
        }
        found
    }
}

/// The values of burr's cookie in one request, in order: nearly always one, so the first is
/// held inline and only further copies go to the heap.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tokens<'a> {
    first: Option<&'a [u8]>,
    more: Vec<&'a [u8]>,
}

impl<'a> Tokens<'a> {
    pub fn push(&mut self, value: &'a [u8]) {
        if self.first.is_none() {
            self.first = Some(value);
        } else {
            self.more.push(value);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized + 'a> FromIterator<&'a T> for Tokens<'a> {
    fn from_iter<I: IntoIterator<Item = &'a T>>(values: I) -> Self {
        let mut tokens = Self::default();
        for value in values {
            tokens.push(value.as_ref());
        }
        tokens
    }
}

/// Where a response's `Set-Cookie` values go. Each value comes as pieces to be written one
/// after another, so the HTTP/1.1 fast path writes them straight into the response head and
/// nothing is assembled on the heap.
pub trait SetCookies {
    fn set_cookie(&mut self, pieces: &[&[u8]]);
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To this target (index in the pool).
    Pinned(usize),
    /// To a target the pool's algorithm chooses.
    Choose,
    /// Nowhere: the client gets 503 and keeps its session.
    Refuse,
}

/// The engine's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub route: Route,
    pub reason: Reason,
    /// The session's valid token, if it had one (kept for its first target and issue time).
    pub session: Option<TokenBody>,
    /// On a hit, the cookie value that carried the token: an ALB cookie (`AWSALB`,
    /// `AWSALBAPP`) renewed within the same second would be sealed with the very same
    /// contents, so it is sent back as it came.
    pub presented: Option<TokenText>,
}

/// The stateless engine over one policy and key ring.
pub struct Engine<'a> {
    pub policy: &'a Policy,
    pub ring: &'a KeyRing,
}

impl Engine<'_> {
    /// Decides where a request goes.
    pub fn decide(&self, request: &RequestCookies<'_>, pool: &dyn PoolView, now: u64) -> Decision {
        let choose = |reason, session| Decision {
            route: Route::Choose,
            reason,
            session,
            presented: None,
        };
        // App-cookie sessions are sticky only while the application cookie is sent.
        if self.policy.app_cookie().is_some() && !request.app_cookie_present {
            return choose(Reason::New, None);
        }
        let (token, failure) = self.first_valid_token(request, now);
        let Some((token, presented)) = token else {
            return choose(failure.unwrap_or(Reason::New), None);
        };
        let Some((index, standing)) = pool.find(token.target) else {
            return choose(Reason::UnknownTarget, Some(token));
        };
        if self.policy.fail_back
            && token.home != token.target
            && let Some((home, Standing::Available)) = pool.find(token.home)
        {
            return Decision {
                route: Route::Pinned(home),
                reason: Reason::FailBack,
                session: Some(token),
                presented: None,
            };
        }
        match standing {
            Standing::Available => Decision {
                route: Route::Pinned(index),
                reason: Reason::Hit,
                session: Some(token),
                presented: TokenText::new(presented),
            },
            Standing::Down => self.target_down(Some(token)),
            Standing::Draining { deadline } => {
                let honoured =
                    self.policy.drain_mode == DrainMode::Honour && deadline.is_none_or(|d| now < d);
                if honoured {
                    Decision {
                        route: Route::Pinned(index),
                        reason: Reason::Hit,
                        session: Some(token),
                        presented: TokenText::new(presented),
                    }
                } else {
                    choose(Reason::Draining, Some(token))
                }
            }
        }
    }

    /// The pinned target refused the connection (or is down): re-pin, or refuse when strict.
    pub fn target_down(&self, session: Option<TokenBody>) -> Decision {
        match self.policy.on_target_down {
            OnTargetDown::Strict => Decision {
                route: Route::Refuse,
                reason: Reason::Strict503,
                session,
                presented: None,
            },
            OnTargetDown::Repin => Decision {
                route: Route::Choose,
                reason: Reason::TargetDown,
                session,
                presented: None,
            },
        }
    }

    /// The first token that opens and holds; else why the first one failed.
    fn first_valid_token<'r>(
        &self,
        request: &RequestCookies<'r>,
        now: u64,
    ) -> (Option<(TokenBody, &'r [u8])>, Option<Reason>) {
        let mut first_failure = None;
        for value in request.tokens.iter() {
            let failure = match self.ring.open(value, now) {
                Err(TokenError::KeyRetired) => Reason::Expired,
                Err(_) => Reason::Tampered,
                Ok(token) if token.pool != self.policy.pool => Reason::UnknownTarget,
                Ok(token) if token.policy_generation != self.policy.generation => Reason::Expired,
                Ok(token) if !self.policy.token_lives(&token, now) => Reason::Expired,
                Ok(token) => return (Some((token, value)), None),
            };
            first_failure.get_or_insert(failure);
        }
        (None, first_failure)
    }

    /// Writes the response's `Set-Cookie` values to `out`. `target` is the target that
    /// answered; `app_set_cookies` are the response's `Set-Cookie` values (read in app-cookie
    /// modes); `nonce` gives fresh randomness for sealing, drawn only if a token is sealed.
    pub fn response_cookies<'s>(
        &self,
        decision: &Decision,
        target: TargetId,
        app_set_cookies: impl IntoIterator<Item = &'s str>,
        now: u64,
        nonce: &Nonce<'_>,
        out: &mut impl SetCookies,
    ) {
        let policy = self.policy;
        let pinned_again = decision.reason != Reason::Hit;
        // The session's first target survives re-pins, so fail-back knows where home is.
        let home = match decision.session {
            Some(s) if s.home != TargetId(0) => s.home,
            Some(s) => s.target,
            None => target,
        };
        let body = |expires_at: u64| TokenBody {
            pool: policy.pool,
            target,
            home: if decision.reason == Reason::FailBack {
                target
            } else {
                home
            },
            issued_at: match decision.session {
                Some(s) if !pinned_again => s.issued_at,
                _ => now,
            },
            last_seen: now,
            expires_at,
            policy_generation: policy.generation,
            arm: 0,
            session: session_id(decision, nonce),
        };
        // A cookie renewed in the same second as the token presented, to the same target,
        // would be sealed with the very same contents: the presented text is sent back.
        let renewed = || match &decision.presented {
            Some(text)
                if decision.reason == Reason::Hit
                    && decision
                        .session
                        .is_some_and(|s| s.last_seen == now && s.target == target) =>
            {
                *text
            }
            _ => self.ring.seal(&body(0), nonce.get()),
        };
        match &policy.mode {
            Mode::LbCookieClassic { period_secs } => {
                if !pinned_again {
                    return;
                }
                let expires_at = if *period_secs == 0 {
                    0
                } else {
                    now + period_secs
                };
                let value = self.ring.seal(&body(expires_at), nonce.get());
                out.set_cookie(&[
                    b"AWSELB=",
                    value.as_ref(),
                    policy.attribute_text.as_bytes(),
                    policy.max_age_text.as_bytes(),
                ]);
            }
            Mode::LbCookieAlb { duration_secs } => {
                let value = renewed();
                let expires = HttpDate::of(now + duration_secs);
                for (name, attributes) in [
                    (&b"AWSALB="[..], &policy.attribute_text),
                    (b"AWSALBCORS=", &policy.cors_attribute_text),
                ] {
                    out.set_cookie(&[
                        name,
                        value.as_ref(),
                        b"; Expires=",
                        expires.as_ref(),
                        attributes.as_bytes(),
                    ]);
                }
            }
            Mode::AppCookieClassic { app_cookie } => {
                if let Some(app) = find_app_cookie(app_set_cookies, app_cookie, now) {
                    // 0 means "no expiry of its own" (a browser-session cookie); a deletion
                    // (`Max-Age=0`) must not read as that, hence at least 1, long past.
                    let expires_at = app.expires_at.map_or(0, |t| t.max(1));
                    let value = self.ring.seal(&body(expires_at), nonce.get());
                    out.set_cookie(&[b"AWSELB=", value.as_ref(), app.copied.as_bytes()]);
                    return;
                }
                // A session moved to a new target keeps its lifetime; without the application's
                // attributes at hand, the configured ones apply.
                if let Some(session) = decision.session
                    && pinned_again
                {
                    let value = self.ring.seal(&body(session.expires_at), nonce.get());
                    let expires =
                        (session.expires_at > now).then(|| HttpDate::of(session.expires_at));
                    out.set_cookie(&[
                        b"AWSELB=",
                        value.as_ref(),
                        policy.attribute_text.as_bytes(),
                        if expires.is_some() {
                            b"; Expires="
                        } else {
                            b""
                        },
                        expires.as_ref().map_or(&b""[..], HttpDate::as_ref),
                    ]);
                }
            }
            Mode::AppCookieAlb { app_cookie, .. } => {
                let sets_app_cookie = find_app_cookie(app_set_cookies, app_cookie, now).is_some();
                // Every response to a sticky request renews the session (or records its move).
                if !sets_app_cookie && decision.session.is_none() {
                    return;
                }
                let value = renewed();
                let expires = HttpDate::of(now + ALB_APP_COOKIE_SECS);
                out.set_cookie(&[
                    b"AWSALBAPP=",
                    value.as_ref(),
                    b"; Expires=",
                    expires.as_ref(),
                    policy.attribute_text.as_bytes(),
                ]);
            }
        }
    }
}

/// The session's id, in the [`SESSION_BITS`] bits a token holds: kept from its token, or, for
/// a session beginning now, derived from the nonce its first token is sealed with (hashed over
/// all 24 bytes, of which a version-2 token carries 12, so the id is not in the cookie in
/// clear). A session begun under token version 1 has a 64-bit id; it goes on under the low
/// bits, so its next token is a short version-2 one (the live-session estimate may count it
/// twice, for one window, once).
pub fn session_id(decision: &Decision, nonce: &Nonce<'_>) -> u64 {
    match decision.session {
        Some(token) => token.session & ((1 << SESSION_BITS) - 1),
        None => xxh3_64(&nonce.get()) >> (64 - SESSION_BITS),
    }
}

/// Randomness for sealing a response's token, drawn from the caller's source the first time it
/// is needed and the same thereafter: most responses in a session seal nothing (a Classic hit,
/// an ALB cookie renewed within its second), and so draw nothing.
pub struct Nonce<'a> {
    draw: &'a dyn Fn() -> [u8; NONCE_BYTES],
    drawn: std::cell::Cell<Option<[u8; NONCE_BYTES]>>,
}

impl<'a> Nonce<'a> {
    pub fn new(draw: &'a dyn Fn() -> [u8; NONCE_BYTES]) -> Self {
        Self {
            draw,
            drawn: std::cell::Cell::new(None),
        }
    }

    /// A nonce known in advance (tests).
    pub fn fixed(bytes: [u8; NONCE_BYTES]) -> Nonce<'static> {
        Nonce {
            draw: &|| unreachable!("a fixed nonce is already drawn"),
            drawn: std::cell::Cell::new(Some(bytes)),
        }
    }

    pub fn get(&self) -> [u8; NONCE_BYTES] {
        match self.drawn.get() {
            Some(bytes) => bytes,
            None => {
                let bytes = (self.draw)();
                self.drawn.set(Some(bytes));
                bytes
            }
        }
    }
}

fn find_app_cookie<'s>(
    set_cookies: impl IntoIterator<Item = &'s str>,
    name: &str,
    now: u64,
) -> Option<AppCookieAttributes> {
    set_cookies
        .into_iter()
        .filter_map(|v| cookies::parse_set_cookie(v, name, now))
        .last()
}

/// `; Path=…; Domain=…; Secure; HttpOnly; SameSite=…` from the configured attributes.
fn attribute_text(a: &CookieAttributes) -> String {
    let mut text = format!("; Path={}", a.path);
    if let Some(domain) = &a.domain {
        text.push_str("; Domain=");
        text.push_str(domain);
    }
    if a.secure {
        text.push_str("; Secure");
    }
    if a.http_only {
        text.push_str("; HttpOnly");
    }
    if let Some(same_site) = a.same_site {
        text.push_str("; SameSite=");
        text.push_str(same_site.as_str());
    }
    text
}

/// `AWSALBCORS` keeps the configured path and domain and is always `SameSite=None; Secure`, so
/// that cross-origin requests carry it.
fn cors_attribute_text(a: &CookieAttributes) -> String {
    let mut text = format!("; Path={}", a.path);
    if let Some(domain) = &a.domain {
        text.push_str("; Domain=");
        text.push_str(domain);
    }
    text.push_str("; SameSite=None; Secure");
    text
}

#[cfg(test)]
mod campaign_tests;
#[cfg(test)]
mod tests;
