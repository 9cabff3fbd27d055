//! Docker authorization plugin requests: reading and classifying never
//! panic; a create's host paths are absolute and clean (or name another
//! container's mounts).
#![no_main]

use clearance_policy::docker_authz::{self, Action, DaemonSettings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = docker_authz::parse_request(data) else { return };
    if let Ok(Action::CreateContainer { request, .. }) =
        docker_authz::classify(&request, DaemonSettings::default())
    {
        for p in &request.host_paths {
            assert!(
                p.starts_with("the mounts of ")
                    || (p.starts_with('/') && !p.contains("//") && !p.split('/').any(|s| s == ".." || s == ".")),
                "{p}"
            );
        }
    }
});
