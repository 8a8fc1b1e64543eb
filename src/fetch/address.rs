//! Where a fetch may connect: public addresses only, unless the source itself lives on a
//! private one or `fetch.allow_private` is set.
//!
//! The check runs twice: on the URL (a literal address, or a `localhost` name) before anything
//! is sent, and on the addresses DNS returns, i.e. those actually connected to, so that neither
//! a redirect nor DNS rebinding can lead a public source to loopback, the LAN or a cloud
//! metadata service. Pure but for DNS lookups; knows nothing of sources or the store.

use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::FetchError;

/// Which addresses a fetch may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anything: the source itself lives on a private address, or `fetch.allow_private` is set.
    Any,
    /// Public addresses only.
    PublicOnly,
}

/// The reach of every fetch made for a source at `url` (its feed, its pages, its articles and
/// every redirect on the way).
pub async fn reach_for(url: &Url, allow_private: bool) -> Reach {
    if allow_private || is_private_host(url).await {
        Reach::Any
    } else {
        Reach::PublicOnly
    }
}

/// Whether a source at `url` lives on a non-public address (then its fetches may go there).
async fn is_private_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((name, port)).await {
                Ok(addrs) => addrs.into_iter().any(|a| !is_public(a.ip())),
                Err(_) => false,
            }
        }
        None => false,
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

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local (which holds cloud metadata services), shared (CGNAT), multicast, documentation or
/// unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // 100.64.0.0/10 shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 protocol assignments
                || (o[0] == 198 && (18..20).contains(&o[1])) // 198.18.0.0/15 benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local, fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
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

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
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

    #[test]
    fn public_and_private_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is not public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
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
