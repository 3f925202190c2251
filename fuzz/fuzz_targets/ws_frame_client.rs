//! Random bytes, in random chunkings, into a client-role WebSocket connection (small limits,
//! optional keep-alive on a virtual clock). See `glue_fuzz::ws_frame` for the input layout and
//! the invariants checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    glue_fuzz::ws_frame(glue_protocol::ws::Role::Client, data);
});
