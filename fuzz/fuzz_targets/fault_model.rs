#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bitcask_core::fuzz::fault_model(data));
