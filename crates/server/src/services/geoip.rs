//! An operator-supplied GeoIP table for the `impossible_travel` context signal.
//!
//! The format is the CSV of MaxMind's GeoLite2/GeoIP2 City "Blocks" files (and of the many
//! databases that copy it): a header naming at least the columns `network` (CIDR, IPv4 or IPv6),
//! `latitude` and `longitude`, then one row per network. The IPv4 and IPv6 files can be given
//! both; rows without coordinates are skipped. passkeyd only ever looks an address up in memory:
//! addresses and their coordinates are not stored.

use std::net::IpAddr;
use std::path::Path;

/// Networks with a location, sorted by first address, as IPv6 (IPv4 mapped).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GeoIp {
    ranges: Vec<(u128, u128, f32, f32)>,
}

fn as_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Parses `a.b.c.d/len` or `x::y/len` into its first and last address.
fn parse_cidr(s: &str) -> Option<(u128, u128)> {
    let (addr, len) = s.trim().split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    let (base, bits) = match ip {
        IpAddr::V4(_) if len <= 32 => (as_u128(ip), 96 + len),
        IpAddr::V6(_) if len <= 128 => (as_u128(ip), len),
        _ => return None,
    };
    let host = if bits >= 128 { 0 } else { u128::MAX >> bits };
    Some((base & !host, base | host))
}

impl GeoIp {
    /// Reads CSV text; returns the table and the number of data rows skipped.
    pub fn parse(text: &str) -> Result<(Self, usize), String> {
        let mut ranges = Vec::new();
        let mut skipped = 0usize;
        let mut columns: Option<(usize, usize, usize)> = None;
        for line in text.lines() {
            let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
            let find = |name: &str| fields.iter().position(|f| f.trim_matches('"') == name);
            if let (Some(n), Some(la), Some(lo)) =
                (find("network"), find("latitude"), find("longitude"))
            {
                columns = Some((n, la, lo));
                continue;
            }
            let Some((n, la, lo)) = columns else {
                return Err(
                    "GeoIP CSV: the first line must name network, latitude and longitude".into(),
                );
            };
            let parsed = (|| {
                let (first, last) = parse_cidr(fields.get(n)?)?;
                let lat: f32 = fields.get(la)?.trim().parse().ok()?;
                let lon: f32 = fields.get(lo)?.trim().parse().ok()?;
                ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
                    .then_some((first, last, lat, lon))
            })();
            match parsed {
                Some(r) => ranges.push(r),
                None => skipped += 1,
            }
        }
        if columns.is_none() {
            return Err("GeoIP CSV: no header naming network, latitude and longitude".into());
        }
        ranges.sort_by_key(|r| (r.0, std::cmp::Reverse(r.1)));
        Ok((Self { ranges }, skipped))
    }

    /// Reads and merges the given files.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, String> {
        let mut all = GeoIp::default();
        for p in paths {
            let p = p.as_ref();
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("GeoIP file {}: {e}", p.display()))?;
            let (t, skipped) = Self::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            tracing::info!(file = %p.display(), networks = t.ranges.len(), skipped, "GeoIP table loaded");
            all.ranges.extend(t.ranges);
        }
        all.ranges.sort_by_key(|r| (r.0, std::cmp::Reverse(r.1)));
        Ok(all)
    }

    /// Networks in the table.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// (latitude, longitude) of the most specific listed network holding `ip`.
    pub fn locate(&self, ip: IpAddr) -> Option<(f64, f64)> {
        let x = as_u128(ip);
        // Ranges are sorted by start; the candidates are those starting at or before x. Blocks
        // files do not nest, so the last one starting at or before x is the one to check, then
        // a few before it in case a file does nest (a wider range that started earlier).
        let end = self.ranges.partition_point(|r| r.0 <= x);
        self.ranges[..end]
            .iter()
            .rev()
            .take(8)
            .filter(|r| r.1 >= x)
            .min_by_key(|r| r.1 - r.0)
            .map(|r| (f64::from(r.2), f64::from(r.3)))
    }
}

/// The network an address belongs to for `new_network`: its IPv4 /24 or IPv6 /48, as text.
pub fn network_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return network_prefix(IpAddr::V4(v4));
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,latitude,longitude,accuracy_radius\n\
        192.0.2.0/24,2988507,3017382,,0,0,75001,48.8566,2.3522,10\n\
        198.51.100.0/25,2147714,2077456,,0,0,2000,-33.8688,151.2093,20\n\
        203.0.113.0/24,,,,0,0,,,,\n\
        2001:db8::/32,5128581,6252001,,0,0,10001,40.7128,-74.0060,50\n";

    #[test]
    fn finds_the_network_of_an_address() {
        let (g, skipped) = GeoIp::parse(CSV).unwrap();
        assert_eq!((g.len(), skipped), (3, 1));
        let paris = g.locate("192.0.2.77".parse().unwrap()).unwrap();
        assert!((paris.0 - 48.8566).abs() < 1e-3 && (paris.1 - 2.3522).abs() < 1e-3);
        let sydney = g.locate("198.51.100.127".parse().unwrap()).unwrap();
        assert!(sydney.0 < -33.0);
        assert!(g.locate("198.51.100.128".parse().unwrap()).is_none());
        assert!(
            g.locate("203.0.113.5".parse().unwrap()).is_none(),
            "no coordinates"
        );
        let ny = g.locate("2001:db8:1::5".parse().unwrap()).unwrap();
        assert!((ny.1 + 74.006).abs() < 1e-3);
        assert!(g.locate("10.0.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn refuses_a_file_without_the_columns() {
        assert!(GeoIp::parse("a,b,c\n1,2,3\n").is_err());
        assert!(GeoIp::parse("").is_err());
    }

    #[test]
    fn garbage_rows_are_skipped_not_fatal() {
        let text = "network,latitude,longitude\nnot-a-cidr,1,2\n10.0.0.0/99,1,2\n10.0.0.0/8,91,0\n10.0.0.0/8,1,x\n10.0.0.0/8,1,2\n";
        let (g, skipped) = GeoIp::parse(text).unwrap();
        assert_eq!((g.len(), skipped), (1, 4));
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            network_prefix("192.0.2.77".parse().unwrap()),
            "192.0.2.0/24"
        );
        assert_eq!(
            network_prefix("2001:db8:aa:bb::1".parse().unwrap()),
            "2001:db8:aa::/48"
        );
        assert_eq!(
            network_prefix("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.0/24"
        );
    }
}
