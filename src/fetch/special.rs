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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

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

/// (range, verdict, name in the registry), IPv4 then IPv6.
#[rustfmt::skip]
const RANGES: &[(&str, Verdict, &str)] = &[
    ("0.0.0.0/8",           Private, "\"This network\""),
    ("10.0.0.0/8",          Private, "Private-Use"),
    ("100.64.0.0/10",       Private, "Shared Address Space"),
    ("127.0.0.0/8",         Private, "Loopback"),
    ("169.254.0.0/16",      Private, "Link Local"),
    ("172.16.0.0/12",       Private, "Private-Use"),
    ("192.0.0.0/24",        Private, "IETF Protocol Assignments"),
    ("192.0.0.0/29",        Private, "IPv4 Service Continuity Prefix"),
    ("192.0.0.8/32",        Private, "IPv4 dummy address"),
    ("192.0.0.9/32",        Public,  "Port Control Protocol Anycast"),
    ("192.0.0.10/32",       Public,  "Traversal Using Relays around NAT Anycast"),
    ("192.0.0.170/32",      Private, "NAT64/DNS64 Discovery"),
    ("192.0.0.171/32",      Private, "NAT64/DNS64 Discovery"),
    ("192.0.2.0/24",        Private, "Documentation (TEST-NET-1)"),
    ("192.31.196.0/24",     Public,  "AS112-v4"),
    ("192.52.193.0/24",     Public,  "AMT"),
    ("192.88.99.0/24",      Private, "Deprecated (6to4 Relay Anycast)"),
    ("192.168.0.0/16",      Private, "Private-Use"),
    ("192.175.48.0/24",     Public,  "Direct Delegation AS112 Service"),
    ("198.18.0.0/15",       Private, "Benchmarking"),
    ("198.51.100.0/24",     Private, "Documentation (TEST-NET-2)"),
    ("203.0.113.0/24",      Private, "Documentation (TEST-NET-3)"),
    ("224.0.0.0/4",         Private, "Multicast (not in the registry)"),
    ("240.0.0.0/4",         Private, "Reserved"),
    ("255.255.255.255/32",  Private, "Limited Broadcast"),
    ("::1/128",             Private, "Loopback Address"),
    ("::/128",              Private, "Unspecified Address"),
    ("::/96",               Private, "IPv4-compatible Address (deprecated, never routed)"),
    ("::ffff:0:0/96",       Embedded(96), "IPv4-mapped Address"),
    ("::ffff:0:0:0/96",     Embedded(96), "IPv4-translated Address"),
    ("64:ff9b::/96",        Embedded(96), "IPv4-IPv6 Translat."),
    ("64:ff9b:1::/48",      Private, "IPv4-IPv6 Translat. (local use)"),
    ("100::/64",            Private, "Discard-Only Address Block"),
    ("100:0:0:1::/64",      Private, "Dummy IPv6 Prefix"),
    ("2001::/23",           Private, "IETF Protocol Assignments"),
    ("2001::/32",           Private, "TEREDO"),
    ("2001:1::1/128",       Public,  "Port Control Protocol Anycast"),
    ("2001:1::2/128",       Public,  "Traversal Using Relays around NAT Anycast"),
    ("2001:1::3/128",       Public,  "DNS-SD Service Registration Protocol Anycast"),
    ("2001:2::/48",         Private, "Benchmarking"),
    ("2001:3::/32",         Public,  "AMT"),
    ("2001:4:112::/48",     Public,  "AS112-v6"),
    ("2001:10::/28",        Private, "Deprecated (previously ORCHID)"),
    ("2001:20::/28",        Public,  "ORCHIDv2"),
    ("2001:30::/28",        Public,  "Drone Remote ID Protocol Entity Tags (DETs) Prefix"),
    ("2001:db8::/32",       Private, "Documentation"),
    ("2002::/16",           Embedded(16), "6to4"),
    ("2620:4f:8000::/48",   Public,  "Direct Delegation AS112 Service"),
    ("3fff::/20",           Private, "Documentation"),
    ("5f00::/16",           Private, "Segment Routing (SRv6) SIDs"),
    ("fc00::/7",            Private, "Unique-Local"),
    ("fe80::/10",           Private, "Link-Local Unicast"),
    ("fec0::/10",           Private, "Site-Local (deprecated)"),
    ("ff00::/8",            Private, "Multicast (not in the registry)"),
];

/// The table as numbers: (IPv6?, network, prefix length, verdict).
static TABLE: LazyLock<Vec<(bool, u128, u8, Verdict)>> = LazyLock::new(|| {
    RANGES
        .iter()
        .map(|(range, verdict, _)| {
            let (net, len) = range.split_once('/').expect("a prefix length");
            let len: u8 = len.parse().expect("a number");
            match net.parse::<IpAddr>().expect("an address") {
                IpAddr::V4(v4) => (false, u128::from(u32::from(v4)), len, *verdict),
                IpAddr::V6(v6) => (true, u128::from(v6), len, *verdict),
            }
        })
        .collect()
});

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

fn ranges(ipv6: bool) -> impl Iterator<Item = (u128, u8, Verdict)> {
    TABLE
        .iter()
        .filter(move |(v6, ..)| *v6 == ipv6)
        .map(|&(_, net, len, verdict)| (net, len, verdict))
}

pub(super) fn v4(ip: Ipv4Addr) -> bool {
    longest(ranges(false), u128::from(u32::from(ip)), 32) != Some(Private)
}

pub(super) fn v6(ip: Ipv6Addr) -> bool {
    let addr = u128::from(ip);
    match longest(ranges(true), addr, 128) {
        Some(Private) => false,
        Some(Public) | None => true,
        Some(Embedded(at)) => v4(Ipv4Addr::from((addr >> (128 - 32 - u32::from(at))) as u32)),
    }
}
