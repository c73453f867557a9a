//! Any UTF-8 text either parses or is refused, never panics; and what parses
//! prints in a canonical form that parses back to the same spec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listenspec::ListenSpec;

fuzz_target!(|text: &str| {
    let Ok(spec) = text.parse::<ListenSpec>() else {
        return;
    };
    let canonical = spec.to_string();
    match canonical.parse::<ListenSpec>() {
        Ok(again) => assert_eq!(again, spec, "canonical text:\n{canonical}"),
        Err(e) => panic!("canonical text does not parse:\n{canonical}\n{e}"),
    }
});
