//! The listener rule matcher: a listener's ALB rules (`burr_model::routing`) compiled once per
//! snapshot into a form that evaluates a request in priority order and returns the first
//! matching rule's action, or the listener's default action.
//!
//! This module owns *how a rule matches*: AWS's wildcard semantics (`*` any sequence, `?`
//! exactly one character), host names compared case-insensitively without the Host header's
//! port, paths case-sensitively (the path only, never the query), header values
//! case-insensitively (each field of a repeated header in turn), methods exactly, query-string
//! keys and values case-insensitively after percent-decoding (`\*` and `\?` literal in the
//! patterns), source addresses by CIDR (IPv4-mapped IPv6 peers as IPv4). Several values in one
//! condition: any (OR); several conditions in one rule: all (AND).
//!
//! Host, path, method, header and source-ip conditions evaluate without allocating; a
//! query-string condition decodes the query into one buffer per evaluation.
//!
//! The request path uses it through `crate::actions`, which compiles each HTTP listener's rules
//! per snapshot with their actions resolved against the snapshot's pools
//! ([`ListenerRules::compile_with`]); both HTTP paths evaluate them, the HTTP/1.1 fast path
//! through the [`HeaderSource`] impl for its parsed header slice, hyper's through `HeaderMap`'s.

use burr_model::Listener;
use burr_model::routing::{Action, Cidr, Condition, Rule};
use http::{HeaderMap, HeaderName};
use std::net::IpAddr;

/// Where the matcher reads header fields from, whichever HTTP engine parsed the request.
pub trait HeaderSource {
    /// Calls `f` with each value of the header `name` (compared case-insensitively), in order,
    /// until it returns true; returns whether it did.
    fn any_value(&self, name: &HeaderName, f: impl FnMut(&[u8]) -> bool) -> bool;
}

impl HeaderSource for HeaderMap {
    fn any_value(&self, name: &HeaderName, f: impl FnMut(&[u8]) -> bool) -> bool {
        self.get_all(name).iter().map(|v| v.as_bytes()).any(f)
    }
}

impl HeaderSource for [httparse::Header<'_>] {
    fn any_value(&self, name: &HeaderName, f: impl FnMut(&[u8]) -> bool) -> bool {
        let name = name.as_str();
        self.iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
            .any(f)
    }
}

/// What the matcher sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a, H: ?Sized> {
    pub method: &'a [u8],
    /// The Host header (or HTTP/2 `:authority`), port included or not; absent: no host
    /// condition matches.
    pub host: Option<&'a [u8]>,
    /// The path, without the query.
    pub path: &'a [u8],
    /// The query, without the `?`; absent when the target has none.
    pub query: Option<&'a [u8]>,
    pub headers: &'a H,
    /// The peer's address (never `X-Forwarded-For`).
    pub source: IpAddr,
}

/// Splits a request target (origin form) into path and query, dropping any `#fragment`.
pub fn split_target(target: &[u8]) -> (&[u8], Option<&[u8]>) {
    let target = match memchr::memchr(b'#', target) {
        Some(at) => &target[..at],
        None => target,
    };
    match memchr::memchr(b'?', target) {
        Some(at) => (&target[..at], Some(&target[at + 1..])),
        None => (target, None),
    }
}

/// The outcome of an evaluation: the action (the model's, or what the runtime compiled it
/// into) and the rule that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'a, A = Action> {
    pub action: &'a A,
    /// The matching rule's priority; `None` for the default action.
    pub priority: Option<u32>,
}

/// A listener's rules, compiled: evaluate with [`ListenerRules::evaluate`]. `A` is what an
/// action becomes: the model's [`Action`], or the runtime's form with its pools resolved
/// (`crate::actions::RuntimeAction`).
#[derive(Debug, Clone)]
pub struct ListenerRules<A = Action> {
    rules: Vec<CompiledRule<A>>,
    default: A,
}

#[derive(Debug, Clone)]
struct CompiledRule<A> {
    priority: u32,
    conditions: Vec<Compiled>,
    action: A,
}

#[derive(Debug, Clone)]
enum Compiled {
    Host(Vec<Glob>),
    Path(Vec<Glob>),
    /// `None`: a name no request can carry (validation refuses it), so never true.
    Header(Option<HeaderName>, Vec<Glob>),
    Method(Vec<Box<[u8]>>),
    Query(Vec<(Option<Glob>, Glob)>),
    SourceIp(Vec<Cidr>),
}

impl ListenerRules {
    /// Compiles `rules` (in any order; evaluated by ascending priority) with `default` taken
    /// when none matches.
    pub fn compile(rules: &[Rule], default: Action) -> Self {
        Self::compile_with(rules, &default, |a| Ok::<_, ()>(a.clone()))
            .unwrap_or_else(|()| unreachable!("cloning an action cannot fail"))
    }

    /// A listener's rules and default action (forward to its pool when it declares none).
    pub fn of_listener(listener: &Listener) -> Self {
        Self::compile(&listener.rules, listener.effective_default_action())
    }
}

impl<A> ListenerRules<A> {
    /// Compiles `rules` and `default`, turning each action into an `A` with `action` (the
    /// runtime resolves the pools an action names this way); the first error stops.
    pub fn compile_with<E>(
        rules: &[Rule],
        default: &Action,
        mut action: impl FnMut(&Action) -> Result<A, E>,
    ) -> Result<Self, E> {
        let mut compiled = rules
            .iter()
            .map(|rule| {
                Ok(CompiledRule {
                    priority: rule.priority,
                    conditions: rule.conditions.iter().map(compile_condition).collect(),
                    action: action(&rule.action)?,
                })
            })
            .collect::<Result<Vec<_>, E>>()?;
        compiled.sort_by_key(|r| r.priority);
        Ok(Self {
            rules: compiled,
            default: action(default)?,
        })
    }

    /// Number of rules, not counting the default one.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The default action, the only one there is when the listener has no rules (so the
    /// request need not be looked at).
    pub fn default_action(&self) -> &A {
        &self.default
    }

    /// Every action, rules' and default.
    pub fn actions(&self) -> impl Iterator<Item = &A> {
        self.rules
            .iter()
            .map(|r| &r.action)
            .chain(std::iter::once(&self.default))
    }

    /// The first rule by priority whose conditions all hold, else the default action.
    pub fn evaluate<H: HeaderSource + ?Sized>(
        &self,
        request: &RequestView<'_, H>,
    ) -> Decision<'_, A> {
        let mut query: Option<Vec<(Vec<u8>, Vec<u8>)>> = None;
        for rule in &self.rules {
            if rule
                .conditions
                .iter()
                .all(|c| condition_holds(c, request, &mut query))
            {
                return Decision {
                    action: &rule.action,
                    priority: Some(rule.priority),
                };
            }
        }
        Decision {
            action: &self.default,
            priority: None,
        }
    }
}

fn compile_condition(condition: &Condition) -> Compiled {
    let globs = |values: &[String], case: Case| {
        values
            .iter()
            .map(|v| Glob::new(v.as_bytes(), case, false))
            .collect()
    };
    match condition {
        Condition::HostHeader(v) => Compiled::Host(globs(v, Case::Insensitive)),
        Condition::PathPattern(v) => Compiled::Path(globs(v, Case::Sensitive)),
        Condition::HttpHeader(h) => Compiled::Header(
            HeaderName::from_bytes(h.name.as_bytes()).ok(),
            globs(&h.values, Case::Insensitive),
        ),
        Condition::HttpRequestMethod(v) => {
            Compiled::Method(v.iter().map(|m| m.as_bytes().into()).collect())
        }
        Condition::QueryString(pairs) => Compiled::Query(
            pairs
                .iter()
                .map(|p| {
                    (
                        p.key
                            .as_deref()
                            .map(|k| Glob::new(k.as_bytes(), Case::Insensitive, true)),
                        Glob::new(p.value.as_bytes(), Case::Insensitive, true),
                    )
                })
                .collect(),
        ),
        Condition::SourceIp(cidrs) => Compiled::SourceIp(cidrs.clone()),
    }
}

fn condition_holds<H: HeaderSource + ?Sized>(
    condition: &Compiled,
    request: &RequestView<'_, H>,
    query: &mut Option<Vec<(Vec<u8>, Vec<u8>)>>,
) -> bool {
    match condition {
        Compiled::Host(globs) => request.host.is_some_and(|host| {
            let host = strip_port(host);
            globs.iter().any(|g| g.matches(host))
        }),
        Compiled::Path(globs) => globs.iter().any(|g| g.matches(request.path)),
        Compiled::Header(name, globs) => name.as_ref().is_some_and(|name| {
            request
                .headers
                .any_value(name, |v| globs.iter().any(|g| g.matches(v)))
        }),
        Compiled::Method(methods) => methods.iter().any(|m| **m == *request.method),
        Compiled::SourceIp(cidrs) => cidrs.iter().any(|c| c.contains(request.source)),
        Compiled::Query(patterns) => {
            let pairs = query.get_or_insert_with(|| decode_query(request.query.unwrap_or(b"")));
            patterns.iter().any(|(key, value)| {
                pairs.iter().any(|(k, v)| match key {
                    Some(key) => key.matches(k) && value.matches(v),
                    None => value.matches(v),
                })
            })
        }
    }
}

/// The host without a `:port` suffix (an IPv6 literal keeps its brackets).
pub fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return match memchr::memchr(b']', host) {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match memchr::memchr(b':', host) {
        Some(at) if host[at + 1..].iter().all(u8::is_ascii_digit) => &host[..at],
        _ => host,
    }
}

/// `key=value` pairs separated by `&`, each part percent-decoded; a part without `=` is a value
/// with an empty key. Empty parts are skipped.
fn decode_query(query: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| match memchr::memchr(b'=', part) {
            Some(at) => (percent_decode(&part[..at]), percent_decode(&part[at + 1..])),
            None => (Vec::new(), percent_decode(part)),
        })
        .collect()
}

/// `%XX` decoded; a `%` not followed by two hex digits is kept as it is. `+` stays `+`.
pub fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%'
            && let (Some(h), Some(l)) = (
                text.get(i + 1).and_then(|b| hex(*b)),
                text.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Sensitive,
    Insensitive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A literal byte (lower case when the glob is case-insensitive).
    Byte(u8),
    /// `?`: exactly one character (one UTF-8 sequence).
    One,
    /// `*`: any sequence, empty included.
    Star,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    kind: GlobKind,
    case: Case,
}

#[derive(Debug, Clone)]
enum GlobKind {
    /// No wildcard: the whole text equals it.
    Exact(Box<[u8]>),
    /// `literal*`: the text starts with it.
    Prefix(Box<[u8]>),
    General(Box<[Token]>),
}

impl Glob {
    /// `escapes`: `\*` and `\?` are literal `*` and `?` (query-string patterns).
    fn new(pattern: &[u8], case: Case, escapes: bool) -> Self {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut i = 0;
        while i < pattern.len() {
            let b = pattern[i];
            let token = match b {
                b'\\' if escapes && matches!(pattern.get(i + 1), Some(b'*' | b'?')) => {
                    i += 1;
                    Token::Byte(pattern[i])
                }
                b'*' => Token::Star,
                b'?' => Token::One,
                _ if case == Case::Insensitive => Token::Byte(b.to_ascii_lowercase()),
                _ => Token::Byte(b),
            };
            // consecutive stars are one
            if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
                tokens.push(token);
            }
            i += 1;
        }
        let literal = |ts: &[Token]| -> Option<Box<[u8]>> {
            ts.iter()
                .map(|t| match t {
                    Token::Byte(b) => Some(*b),
                    _ => None,
                })
                .collect()
        };
        let kind = if let Some(exact) = literal(&tokens) {
            GlobKind::Exact(exact)
        } else if let Some((Token::Star, head)) = tokens.split_last()
            && let Some(prefix) = literal(head)
        {
            GlobKind::Prefix(prefix)
        } else {
            GlobKind::General(tokens.into())
        };
        Self { kind, case }
    }

    fn byte_eq(&self, pattern: u8, text: u8) -> bool {
        match self.case {
            Case::Sensitive => pattern == text,
            Case::Insensitive => pattern == text.to_ascii_lowercase(),
        }
    }

    /// `pattern` is lower case when the glob is case-insensitive.
    fn literal_eq(&self, pattern: &[u8], text: &[u8]) -> bool {
        match self.case {
            Case::Sensitive => pattern == text,
            Case::Insensitive => pattern.eq_ignore_ascii_case(text),
        }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &[u8]) -> bool {
        match &self.kind {
            GlobKind::Exact(p) => self.literal_eq(p, text),
            GlobKind::Prefix(p) => text.len() >= p.len() && self.literal_eq(p, &text[..p.len()]),
            GlobKind::General(tokens) => self.general(tokens, text),
        }
    }

    /// Iterative matching with one backtrack point (the last `*`): linear in practice,
    /// O(pattern × text) at worst, no allocation.
    fn general(&self, tokens: &[Token], text: &[u8]) -> bool {
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if p < tokens.len() {
                match tokens[p] {
                    Token::Star => {
                        star = Some((p, t));
                        p += 1;
                        continue;
                    }
                    Token::One if t < text.len() => {
                        p += 1;
                        t += char_len(text, t);
                        continue;
                    }
                    Token::Byte(b) if t < text.len() && self.byte_eq(b, text[t]) => {
                        p += 1;
                        t += 1;
                        continue;
                    }
                    _ => {}
                }
            } else if t == text.len() {
                return true;
            }
            // mismatch: let the last star take one more character
            match star {
                Some((sp, st)) if st < text.len() => {
                    let next = st + char_len(text, st);
                    star = Some((sp, next));
                    p = sp + 1;
                    t = next;
                }
                _ => return false,
            }
        }
    }
}

/// Length of the UTF-8 sequence starting at `text[at]` (1 for ASCII or a stray byte), clamped
/// to the text.
fn char_len(text: &[u8], at: usize) -> usize {
    let len = match text[at] {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    };
    let len = if text[at + 1..]
        .iter()
        .take(len - 1)
        .all(|b| (0x80..=0xBF).contains(b))
    {
        len
    } else {
        1
    };
    len.min(text.len() - at)
}

#[cfg(test)]
mod tests;
