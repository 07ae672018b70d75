//! The TOML configuration loader (`burr::config`): parse, shape, duplicate names and every
//! model rule, as `burr check` runs them (all but reading TLS files, the one part that touches
//! the disk).
//!
//! Input: the file's text. Beyond "no panic": every error names a line of the file (or none)
//! and says something; a file that loads without errors, written back by `burr export`'s
//! renderer, loads again without errors into the same objects.
#![no_main]

use burr::config::{ConfigSource, Declared, render};
use burr_model::State;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.matches('\n').count() + 1;
    let source = ConfigSource::from_text(Path::new("burr.toml"), text.to_owned());
    let (declared, errors) = match source.load_text(None) {
        Ok(loaded) => loaded,
        Err(errors) => (empty(), errors),
    };
    for e in &errors {
        assert!(
            !e.message.trim().is_empty(),
            "an error that says nothing: {e:?}"
        );
        assert!(
            e.line.is_none_or(|line| (1..=lines).contains(&line)),
            "line {:?} of a {lines}-line file: {e}",
            e.line
        );
    }
    if !errors.is_empty() {
        return;
    }
    let state = declared.apply_to(&State::default());
    let exported = render(&state).expect("a loaded state renders");
    let again = ConfigSource::from_text(Path::new("burr.toml"), exported.clone());
    match again.load_text(None) {
        Ok((reloaded, errors)) if errors.is_empty() => {
            assert_eq!(sorted(reloaded), sorted(declared), "{exported}");
        }
        Ok((_, errors)) | Err(errors) => {
            panic!("the exported file does not load: {errors:?}\n{exported}")
        }
    }
});

fn empty() -> Declared {
    Declared {
        balancers: Vec::new(),
        pools: Vec::new(),
        aliases: Vec::new(),
        distributions: Vec::new(),
        policies: Vec::new(),
    }
}

/// The objects in name order (the file's order is not kept by the state).
fn sorted(mut d: Declared) -> Declared {
    d.balancers.sort_by(|a, b| a.name.cmp(&b.name));
    d.pools.sort_by(|a, b| a.name.cmp(&b.name));
    d.aliases.sort_by(|a, b| a.name.cmp(&b.name));
    d.distributions.sort_by(|a, b| a.id.cmp(&b.id));
    d.policies.sort_by(|a, b| a.id.cmp(&b.id));
    d
}
