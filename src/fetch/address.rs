//! Where a fetch may connect: public addresses only, unless the config allows private ones
//! (`fetch.allow_private`, a source's `allow_private`, or a source URL that names one).
//!
//! The check runs twice: on the URL (a literal address, or a `localhost` name) before anything
//! is sent, and on the addresses DNS returns, i.e. those actually connected to, so that neither
//! a redirect nor DNS rebinding can lead a public source to loopback, the LAN or a cloud
//! metadata service. Pure but for DNS lookups; knows nothing of sources or the store.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::Url;

use super::{FetchError, special};

/// Which addresses a fetch may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anything: the config allows private addresses, or the source's own URL names one.
    Any,
    /// Public addresses only.
    PublicOnly,
}

/// The reach of every fetch made for a source at `url` (its feed, its pages, its articles and
/// every redirect on the way). It comes from the config alone: `allow_private`, or a literal
/// non-public address or `localhost` name in the source's URL. Never from DNS, which a public
/// name's owner controls and may point at 169.254.169.254.
pub fn reach_for(url: &Url, allow_private: bool) -> Reach {
    let names_private = match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => is_localhost_name(name),
        None => false,
    };
    if allow_private || names_private {
        Reach::Any
    } else {
        Reach::PublicOnly
    }
}

/// Only http(s); with [`Reach::PublicOnly`], no literal non-public address and no `localhost`
/// name (RFC 6761: those always mean this machine, and a proxy would take them for its own).
pub(super) fn check_target(url: &Url, reach: Reach) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadRedirect(format!("to a {}: URL", url.scheme())));
    }
    if reach == Reach::PublicOnly {
        let blocked = match url.host() {
            Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => is_localhost_name(name),
            None => false,
        };
        if blocked {
            return Err(FetchError::Blocked(url.host_str().unwrap_or_default().to_string()));
        }
    }
    Ok(())
}

/// Whether `url` is on this machine: a loopback address or a `localhost` name. Such requests
/// never go through a proxy.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Some(url::Host::Domain(name)) => is_localhost_name(name),
        None => false,
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `ip` is an address on the public internet: not in a range of the IANA
/// special-purpose registries that is not globally reachable ([`special`]), nor multicast.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => special::v4(v4),
        IpAddr::V6(v6) => special::v6(v6),
    }
}

/// Resolves names with the system resolver and drops every non-public address, so that a
/// public-only fetch cannot connect to one, whatever DNS says (also on redirects).
pub(super) struct PublicResolver;

#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to non-public addresses ({addrs})")]
struct BlockedAddress {
    name: String,
    addrs: String,
}

/// Longest a name lookup may take: the system resolver has no limit of its own that we control.
const DNS_TIMEOUT: Duration = Duration::from_secs(10);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((name.as_str(), 0));
            let all: Vec<SocketAddr> = tokio::time::timeout(DNS_TIMEOUT, lookup)
                .await
                .map_err(|_| format!("looking up {name} took longer than {}s", DNS_TIMEOUT.as_secs()))??
                .collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !all.is_empty() {
                let addrs = all.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Box::new(BlockedAddress { name, addrs }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The name and addresses a [`PublicResolver`] refused, if that is what failed a request.
pub(super) fn find_blocked(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(b) = err.downcast_ref::<BlockedAddress>() {
            return Some(format!("{} ({})", b.name, b.addrs));
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address from each row of the IANA special-purpose registries (and multicast), and
    /// whether a fetch may connect to it.
    const REGISTRY_ROWS: &[(&str, bool, &str)] = &[
        ("0.1.2.3", false, "0.0.0.0/8 \"This network\""),
        ("10.1.2.3", false, "10.0.0.0/8 Private-Use"),
        ("100.64.0.1", false, "100.64.0.0/10 Shared Address Space"),
        ("100.127.255.254", false, "100.64.0.0/10 Shared Address Space, last"),
        ("127.0.0.1", false, "127.0.0.0/8 Loopback"),
        ("169.254.169.254", false, "169.254.0.0/16 Link Local (cloud metadata)"),
        ("172.16.0.1", false, "172.16.0.0/12 Private-Use"),
        ("172.31.255.255", false, "172.16.0.0/12 Private-Use, last"),
        ("192.0.0.200", false, "192.0.0.0/24 IETF Protocol Assignments"),
        ("192.0.0.5", false, "192.0.0.0/29 IPv4 Service Continuity Prefix"),
        ("192.0.0.8", false, "192.0.0.8/32 IPv4 dummy address"),
        ("192.0.0.9", true, "192.0.0.9/32 Port Control Protocol Anycast"),
        ("192.0.0.10", true, "192.0.0.10/32 TURN Anycast"),
        ("192.0.0.170", false, "192.0.0.170/32 NAT64/DNS64 Discovery"),
        ("192.0.0.171", false, "192.0.0.171/32 NAT64/DNS64 Discovery"),
        ("192.0.2.1", false, "192.0.2.0/24 Documentation (TEST-NET-1)"),
        ("192.31.196.1", true, "192.31.196.0/24 AS112-v4"),
        ("192.52.193.1", true, "192.52.193.0/24 AMT"),
        ("192.88.99.1", false, "192.88.99.0/24 Deprecated (6to4 Relay Anycast)"),
        ("192.168.1.1", false, "192.168.0.0/16 Private-Use"),
        ("192.175.48.1", true, "192.175.48.0/24 Direct Delegation AS112 Service"),
        ("198.18.0.1", false, "198.18.0.0/15 Benchmarking"),
        ("198.19.255.255", false, "198.18.0.0/15 Benchmarking, last"),
        ("198.51.100.1", false, "198.51.100.0/24 Documentation (TEST-NET-2)"),
        ("203.0.113.1", false, "203.0.113.0/24 Documentation (TEST-NET-3)"),
        ("224.0.0.251", false, "224.0.0.0/4 Multicast"),
        ("240.0.0.1", false, "240.0.0.0/4 Reserved"),
        ("255.255.255.255", false, "255.255.255.255/32 Limited Broadcast"),
        ("::1", false, "::1/128 Loopback Address"),
        ("::", false, "::/128 Unspecified Address"),
        ("::7f00:1", false, "::/96 IPv4-compatible (deprecated)"),
        ("::ffff:127.0.0.1", false, "::ffff:0:0/96 IPv4-mapped, loopback inside"),
        (
            "::ffff:169.254.169.254",
            false,
            "::ffff:0:0/96 IPv4-mapped, metadata inside",
        ),
        ("::ffff:8.8.8.8", true, "::ffff:0:0/96 IPv4-mapped, public inside"),
        (
            "::ffff:0:a00:1",
            false,
            "::ffff:0:0:0/96 IPv4-translated, private inside",
        ),
        ("64:ff9b::a9fe:a9fe", false, "64:ff9b::/96 NAT64, metadata inside"),
        ("64:ff9b::7f00:1", false, "64:ff9b::/96 NAT64, loopback inside"),
        ("64:ff9b::808:808", true, "64:ff9b::/96 NAT64, public inside"),
        ("64:ff9b:1::808:808", false, "64:ff9b:1::/48 local-use translation"),
        ("100::1", false, "100::/64 Discard-Only Address Block"),
        ("100:0:0:1::1", false, "100:0:0:1::/64 Dummy IPv6 Prefix"),
        ("2001:5::1", false, "2001::/23 IETF Protocol Assignments"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "2001::/32 TEREDO"),
        ("2001:1::1", true, "2001:1::1/128 PCP Anycast"),
        ("2001:1::2", true, "2001:1::2/128 TURN Anycast"),
        ("2001:1::3", true, "2001:1::3/128 DNS-SD SRP Anycast"),
        ("2001:1::4", false, "2001:1::/32 rest, still IETF Protocol Assignments"),
        ("2001:2::1", false, "2001:2::/48 Benchmarking"),
        ("2001:3::1", true, "2001:3::/32 AMT"),
        ("2001:4:112::1", true, "2001:4:112::/48 AS112-v6"),
        ("2001:10::1", false, "2001:10::/28 Deprecated (previously ORCHID)"),
        ("2001:20::1", true, "2001:20::/28 ORCHIDv2"),
        ("2001:30::1", true, "2001:30::/28 Drone Remote ID DETs"),
        ("2001:db8::1", false, "2001:db8::/32 Documentation"),
        ("2002:a9fe:a9fe::1", false, "2002::/16 6to4, metadata inside"),
        ("2002:7f00:1::1", false, "2002::/16 6to4, loopback inside"),
        ("2002:808:808::1", true, "2002::/16 6to4, public inside"),
        (
            "2620:4f:8000::1",
            true,
            "2620:4f:8000::/48 Direct Delegation AS112 Service",
        ),
        ("3fff::1", false, "3fff::/20 Documentation"),
        ("3fff:fff::1", false, "3fff::/20 Documentation, last block"),
        ("5f00::1", false, "5f00::/16 Segment Routing (SRv6) SIDs"),
        ("fd00:ec2::254", false, "fc00::/7 Unique-Local (AWS metadata over IPv6)"),
        ("fe80::1", false, "fe80::/10 Link-Local Unicast"),
        ("fec0::1", false, "fec0::/10 Site-Local (deprecated)"),
        ("ff02::1", false, "ff00::/8 Multicast"),
        // And ordinary addresses beside them.
        ("8.8.8.8", true, "public IPv4"),
        ("93.184.216.34", true, "public IPv4"),
        ("100.128.0.1", true, "just past 100.64.0.0/10"),
        ("172.32.0.1", true, "just past 172.16.0.0/12"),
        ("198.20.0.1", true, "just past 198.18.0.0/15"),
        ("2606:4700::1111", true, "public IPv6"),
        ("2001:200::1", true, "just past 2001::/23"),
        ("4000::1", true, "just past 3fff::/20 and before 5f00::/16"),
    ];

    #[test]
    fn every_special_purpose_row() {
        let wrong: Vec<String> = REGISTRY_ROWS
            .iter()
            .filter(|(ip, public, _)| is_public(ip.parse().unwrap()) != *public)
            .map(|(ip, public, row)| format!("{ip} ({row}) should be {}", if *public { "public" } else { "refused" }))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn reach_comes_from_the_config_never_from_dns() {
        let url = |s: &str| Url::parse(s).unwrap();
        // A name is public-only whatever it resolves to (this one resolves to 127.0.0.1 on
        // most machines); only a literal private address, `localhost`, or the config say so.
        assert_eq!(
            reach_for(&url("http://localhost.localdomain:9/"), false),
            Reach::PublicOnly
        );
        assert_eq!(reach_for(&url("http://feeds.example.org/"), false), Reach::PublicOnly);
        assert_eq!(reach_for(&url("http://feeds.example.org/"), true), Reach::Any);
        assert_eq!(reach_for(&url("http://10.0.0.7/feed"), false), Reach::Any);
        assert_eq!(reach_for(&url("http://[::1]:8080/feed"), false), Reach::Any);
        assert_eq!(reach_for(&url("http://localhost:8080/feed"), false), Reach::Any);
        assert_eq!(reach_for(&url("http://8.8.8.8/feed"), false), Reach::PublicOnly);
    }

    #[test]
    fn literal_private_targets_and_localhost_are_refused_when_public_only() {
        let url = |s: &str| Url::parse(s).unwrap();
        for target in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://localhost:8080/",
            "http://api.LOCALHOST./",
        ] {
            assert!(
                matches!(
                    check_target(&url(target), Reach::PublicOnly),
                    Err(FetchError::Blocked(_))
                ),
                "{target}"
            );
            assert!(check_target(&url(target), Reach::Any).is_ok(), "{target}");
        }
        assert!(check_target(&url("http://example.org/"), Reach::PublicOnly).is_ok());
        assert!(check_target(&url("file:///etc/passwd"), Reach::Any).is_err());
    }

    #[test]
    fn loopback_targets_are_told() {
        for (target, loopback) in [
            ("http://127.0.0.1:9/", true),
            ("http://127.1.2.3/", true),
            ("http://[::1]/", true),
            ("http://localhost/", true),
            ("http://10.0.0.1/", false),
            ("http://example.org/", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(target).unwrap()), loopback, "{target}");
        }
    }
}
