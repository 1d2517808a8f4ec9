#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bitcask_server::fuzz::restore_payload(data));
