//! Which URLs an endpoint may have: `https://`, or `http://` to a loopback host
//! when config `webhooks.allow_http_loopback` allows it (development and tests).

use reqwest::Url;

/// The URL as stored, or the field message of a 422.
pub fn check(url: &str, allow_http_loopback: bool) -> Result<String, String> {
    let trimmed = url.trim();
    if trimmed.is_empty() || trimmed.len() > 2000 {
        return Err("must be 1 to 2000 characters".to_owned());
    }
    let parsed = Url::parse(trimmed).map_err(|_| "must be an absolute URL".to_owned())?;
    if parsed.host().is_none() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must be an absolute URL".to_owned());
    }
    match parsed.scheme() {
        "https" => Ok(parsed.to_string()),
        "http" if allow_http_loopback && is_loopback(&parsed) => Ok(parsed.to_string()),
        _ => Err("must be https, or http to a loopback host".to_owned()),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn https_always_http_only_to_loopback_when_allowed() {
        assert!(check("https://shop.example/hook", false).is_ok());
        assert!(check("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check("http://localhost/hook", true).is_ok());
        assert!(check("http://[::1]:8/x", true).is_ok());
        assert!(check("http://127.0.0.1:9000/hook", false).is_err());
        assert!(check("http://shop.example/hook", true).is_err());
        assert!(check("ftp://shop.example/", true).is_err());
        assert!(check("not a url", true).is_err());
        assert!(check("https://user:pw@shop.example/", true).is_err());
        assert!(check("", true).is_err());
    }
}
