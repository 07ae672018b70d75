//! The CloudFront XML codec (`burr_api::cloudfront::document`): `parse` of any bytes as each
//! root shape answers (never panics), and a body it accepts, rendered, parses again into the
//! same tree, whose rendering is the same bytes.
//!
//! Input: the first byte picks the shape (modulo the list below), the rest is the body.
#![no_main]

use burr_api::cloudfront::document::{parse, render};
use burr_model::cloudfront::schema::ROOTS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let shape = ROOTS[usize::from(pick) % ROOTS.len()];
    let Ok(node) = parse(shape, body) else {
        return;
    };
    let rendered = render(shape, shape, &node);
    let again = parse(shape, &rendered).unwrap_or_else(|error| {
        panic!(
            "{shape}: the rendering of an accepted body is refused: {error}\n{}",
            String::from_utf8_lossy(&rendered)
        )
    });
    assert_eq!(again, node, "{}", String::from_utf8_lossy(&rendered));
    assert_eq!(render(shape, shape, &again), rendered);
});
