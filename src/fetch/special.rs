//! The IANA special-purpose address registries (IPv4 and IPv6, as of 2025), as tables: which
//! ranges are not globally reachable, the exceptions inside them that are, and the ranges that
//! carry an IPv4 address (NAT64, 6to4), judged by that address.
//!
//! An address is judged by the longest prefix of its table that holds it; an address in no
//! range is public. Multicast is added: it is in no special-purpose registry, and never a web
//! server.
//!
//! <https://www.iana.org/assignments/iana-ipv4-special-registry/>
//! <https://www.iana.org/assignments/iana-ipv6-special-registry/>

use std::net::{Ipv4Addr, Ipv6Addr};

/// What a range means for an address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Not globally reachable (or reachable only through something we must not be led to).
    Private,
    /// Globally reachable: an exception inside a larger private range.
    Public,
    /// Judged by the IPv4 address held in the 32 bits that start at this bit.
    Embedded(u8),
}

use Verdict::{Embedded, Private, Public};

/// (network, prefix length, verdict, name in the registry).
pub(super) const V4: &[(Ipv4Addr, u8, Verdict, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, Private, "\"This network\""),
    (Ipv4Addr::new(10, 0, 0, 0), 8, Private, "Private-Use"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, Private, "Shared Address Space"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, Private, "Loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, Private, "Link Local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, Private, "Private-Use"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, Private, "IETF Protocol Assignments"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        29,
        Private,
        "IPv4 Service Continuity Prefix",
    ),
    (Ipv4Addr::new(192, 0, 0, 8), 32, Private, "IPv4 dummy address"),
    (Ipv4Addr::new(192, 0, 0, 9), 32, Public, "Port Control Protocol Anycast"),
    (
        Ipv4Addr::new(192, 0, 0, 10),
        32,
        Public,
        "Traversal Using Relays around NAT Anycast",
    ),
    (Ipv4Addr::new(192, 0, 0, 170), 32, Private, "NAT64/DNS64 Discovery"),
    (Ipv4Addr::new(192, 0, 0, 171), 32, Private, "NAT64/DNS64 Discovery"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, Private, "Documentation (TEST-NET-1)"),
    (Ipv4Addr::new(192, 31, 196, 0), 24, Public, "AS112-v4"),
    (Ipv4Addr::new(192, 52, 193, 0), 24, Public, "AMT"),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        Private,
        "Deprecated (6to4 Relay Anycast)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, Private, "Private-Use"),
    (
        Ipv4Addr::new(192, 175, 48, 0),
        24,
        Public,
        "Direct Delegation AS112 Service",
    ),
    (Ipv4Addr::new(198, 18, 0, 0), 15, Private, "Benchmarking"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        Private,
        "Documentation (TEST-NET-2)",
    ),
    (Ipv4Addr::new(203, 0, 113, 0), 24, Private, "Documentation (TEST-NET-3)"),
    (
        Ipv4Addr::new(224, 0, 0, 0),
        4,
        Private,
        "Multicast (not in the registry)",
    ),
    (Ipv4Addr::new(240, 0, 0, 0), 4, Private, "Reserved"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, Private, "Limited Broadcast"),
];

const fn net6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// (network, prefix length, verdict, name in the registry).
pub(super) const V6: &[(Ipv6Addr, u8, Verdict, &str)] = &[
    (net6([0, 0, 0, 0, 0, 0, 0, 1]), 128, Private, "Loopback Address"),
    (net6([0, 0, 0, 0, 0, 0, 0, 0]), 128, Private, "Unspecified Address"),
    // Deprecated IPv4-compatible addresses (::a.b.c.d): never routed.
    (
        net6([0, 0, 0, 0, 0, 0, 0, 0]),
        96,
        Private,
        "IPv4-compatible (deprecated)",
    ),
    (
        net6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        Embedded(96),
        "IPv4-mapped Address",
    ),
    (
        net6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        Embedded(96),
        "IPv4-translated Address",
    ),
    (
        net6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        Embedded(96),
        "IPv4-IPv6 Translat.",
    ),
    (
        net6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        Private,
        "IPv4-IPv6 Translat. (local use)",
    ),
    (
        net6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        Private,
        "Discard-Only Address Block",
    ),
    (net6([0x100, 0, 0, 1, 0, 0, 0, 0]), 64, Private, "Dummy IPv6 Prefix"),
    (
        net6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        Private,
        "IETF Protocol Assignments",
    ),
    (net6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, Private, "TEREDO"),
    (
        net6([0x2001, 1, 0, 0, 0, 0, 0, 1]),
        128,
        Public,
        "Port Control Protocol Anycast",
    ),
    (
        net6([0x2001, 1, 0, 0, 0, 0, 0, 2]),
        128,
        Public,
        "Traversal Using Relays around NAT Anycast",
    ),
    (
        net6([0x2001, 1, 0, 0, 0, 0, 0, 3]),
        128,
        Public,
        "DNS-SD Service Registration Protocol Anycast",
    ),
    (net6([0x2001, 2, 0, 0, 0, 0, 0, 0]), 48, Private, "Benchmarking"),
    (net6([0x2001, 3, 0, 0, 0, 0, 0, 0]), 32, Public, "AMT"),
    (net6([0x2001, 4, 0x112, 0, 0, 0, 0, 0]), 48, Public, "AS112-v6"),
    (
        net6([0x2001, 0x10, 0, 0, 0, 0, 0, 0]),
        28,
        Private,
        "Deprecated (previously ORCHID)",
    ),
    (net6([0x2001, 0x20, 0, 0, 0, 0, 0, 0]), 28, Public, "ORCHIDv2"),
    (
        net6([0x2001, 0x30, 0, 0, 0, 0, 0, 0]),
        28,
        Public,
        "Drone Remote ID Protocol Entity Tags (DETs) Prefix",
    ),
    (net6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, Private, "Documentation"),
    (net6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, Embedded(16), "6to4"),
    (
        net6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0]),
        48,
        Public,
        "Direct Delegation AS112 Service",
    ),
    (net6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, Private, "Documentation"),
    (
        net6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        Private,
        "Segment Routing (SRv6) SIDs",
    ),
    (net6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, Private, "Unique-Local"),
    (net6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, Private, "Link-Local Unicast"),
    (
        net6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Private,
        "Site-Local (deprecated)",
    ),
    (
        net6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        8,
        Private,
        "Multicast (not in the registry)",
    ),
];

/// The top `len` bits of a `bits`-bit number.
fn mask(len: u8, bits: u32) -> u128 {
    let all = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    match bits - u32::from(len) {
        128 => 0,
        host => all & !((1u128 << host) - 1),
    }
}

/// The verdict of the longest prefix that holds `addr`, of (network, length, verdict) ranges
/// of `bits`-bit addresses.
fn longest(ranges: impl Iterator<Item = (u128, u8, Verdict)>, addr: u128, bits: u32) -> Option<Verdict> {
    ranges
        .filter(|&(net, len, _)| addr & mask(len, bits) == net & mask(len, bits))
        .max_by_key(|&(_, len, _)| len)
        .map(|(_, _, verdict)| verdict)
}

pub(super) fn v4(ip: Ipv4Addr) -> bool {
    let ranges = V4.iter().map(|&(net, len, v, _)| (u128::from(u32::from(net)), len, v));
    longest(ranges, u128::from(u32::from(ip)), 32) != Some(Private)
}

pub(super) fn v6(ip: Ipv6Addr) -> bool {
    let addr = u128::from(ip);
    let ranges = V6.iter().map(|&(net, len, v, _)| (u128::from(net), len, v));
    match longest(ranges, addr, 128) {
        Some(Private) => false,
        Some(Public) | None => true,
        Some(Embedded(at)) => v4(Ipv4Addr::from((addr >> (128 - 32 - u32::from(at))) as u32)),
    }
}
