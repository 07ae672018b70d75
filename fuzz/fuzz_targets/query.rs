//! The query protocol's parameter decoder (`burr_api::query::Params`), on any query and body.
//!
//! Input: the URL query (lossily made text), a zero byte, then the form body. Beyond "no
//! panic": the decoder accepts exactly when no name repeats (compared after decoding) and
//! yields exactly the pairs `form_urlencoded` reads; what it yields, encoded again as a form
//! body, decodes to the same parameters; scopes and structures read the same values as `get`.
#![no_main]

use burr_api::fuzzing::decode_params;
use burr_api::query::{MAX_PARAMETERS, Params};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let decoded = decode_params(&query, body);

    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .chain(form_urlencoded::parse(body))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut expected = BTreeMap::new();
    let mut repeated = false;
    for (name, value) in &pairs {
        repeated |= expected.insert(name.clone(), value.clone()).is_some();
    }
    match &decoded {
        Ok(got) => {
            assert!(
                !repeated && pairs.len() <= MAX_PARAMETERS,
                "accepted {pairs:?}"
            );
            assert_eq!(got, &expected.clone().into_iter().collect::<Vec<_>>());
        }
        Err(e) => {
            assert!(
                repeated || pairs.len() > MAX_PARAMETERS,
                "refused: {}",
                e.message
            );
            assert_eq!((e.code, e.status), ("ValidationError", 400));
            return;
        }
    }
    let got = decoded.unwrap();

    // Encoded again (as an SDK would send them), the parameters decode to themselves.
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &got {
        form.append_pair(name, value);
    }
    let again = decode_params("", form.finish().as_bytes()).expect("re-encoded parameters");
    assert_eq!(again, got);

    // The typed readers never panic, and a scope is a view of the same values.
    let params = Params::decode(&query, body).expect("decoded once already");
    for (name, value) in &got {
        assert_eq!(params.get(name), Some(value.as_str()));
        let _ = params.int(name);
        let _ = params.bool(name);
        if let Some((prefix, field)) = name.split_once('.') {
            assert_eq!(params.scope(prefix).get(field), Some(value.as_str()));
            assert!(params.has_scope(prefix));
            let _ = params.structures(prefix);
            let _ = params.list(prefix);
        }
    }
});
