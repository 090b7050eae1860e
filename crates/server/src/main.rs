//! `passkeyd`: the passkey authentication server and its offline tools.
fn main() {}
