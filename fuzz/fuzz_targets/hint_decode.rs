#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bitcask_format::fuzz::hint_decode(data));
