//! Black-box tests of the CSTA PBX simulator over real TCP on 127.0.0.1 (one test
//! binary; each test starts its own simulator on a free port).

mod client;
mod conformance;
mod errors;
mod faults;
mod sessions;
mod traffic;
