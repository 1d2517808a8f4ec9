#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bitcask_format::fuzz::file_scan(data));
