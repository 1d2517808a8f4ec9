#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bitcask_testkit::fuzz::fault_model(data));
