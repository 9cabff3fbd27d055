//! Linux capability names (capabilities(7), Linux 6.x: 41 of them), as a
//! policy, a pod spec or a Docker request may write them.

/// Every capability, upper case, without `CAP_`.
pub const ALL: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// A capability's name upper case without `CAP_` (`cap_net_admin` →
/// `NET_ADMIN`), or `None` when it names none (`ALL` names every one and
/// is refused here: a policy lists what it allows).
pub fn normalise(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    ALL.contains(&bare).then(|| bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_all_is_no_capability() {
        assert_eq!(normalise("cap_net_admin").as_deref(), Some("NET_ADMIN"));
        assert_eq!(
            normalise("NET_BIND_SERVICE").as_deref(),
            Some("NET_BIND_SERVICE")
        );
        assert_eq!(normalise("ALL"), None);
        assert_eq!(normalise("NET_ADMINX"), None);
    }
}
