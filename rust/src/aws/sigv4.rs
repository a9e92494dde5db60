//! AWS Signature Version 4 for JSON-protocol POST requests (what SQS speaks). The signing key is derived once per
//! day and credentials; checked against botocore's signer in the Python tests.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Access key, secret and (for temporary credentials) the session token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` for a time in seconds since the epoch (UTC).
pub fn amz_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn now_amz_date() -> String {
    amz_date(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// Signs requests for one region and service, caching the day's signing key.
#[derive(Debug)]
pub struct Signer {
    pub region: String,
    pub service: String,
    key: Mutex<Option<(String, Credentials, [u8; 32])>>,
}

impl Signer {
    pub fn new(region: &str, service: &str) -> Signer {
        Signer {
            region: region.to_string(),
            service: service.to_string(),
            key: Mutex::new(None),
        }
    }

    fn signing_key(&self, creds: &Credentials, date: &str) -> [u8; 32] {
        let mut cached = self.key.lock().expect("signing key lock");
        if let Some((d, c, k)) = cached.as_ref() {
            if d == date && c == creds {
                return *k;
            }
        }
        let k = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), date.as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, self.service.as_bytes());
        let k = hmac(&k, b"aws4_request");
        *cached = Some((date.to_string(), creds.clone(), k));
        k
    }

    /// The headers to add to a POST of `body` to `host` + `path` whose other signed headers are `headers`
    /// (lower-case names): `x-amz-date`, `x-amz-security-token` when there is one, and `authorization`.
    pub fn sign(
        &self,
        creds: &Credentials,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        amz_date: &str,
    ) -> Vec<(&'static str, String)> {
        let mut signed: Vec<(&str, &str)> = headers.to_vec();
        signed.push(("host", host));
        signed.push(("x-amz-date", amz_date));
        if let Some(token) = &creds.session_token {
            signed.push(("x-amz-security-token", token));
        }
        signed.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let names: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
        let names = names.join(";");
        let mut canonical = format!("POST\n{path}\n\n");
        for (n, v) in &signed {
            canonical.push_str(n);
            canonical.push(':');
            canonical.push_str(v.trim());
            canonical.push('\n');
        }
        canonical.push('\n');
        canonical.push_str(&names);
        canonical.push('\n');
        canonical.push_str(&hex(&Sha256::digest(body)));
        let date = &amz_date[..8];
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let signature = hex(&hmac(&self.signing_key(creds, date), to_sign.as_bytes()));
        let mut out = vec![("x-amz-date", amz_date.to_string())];
        if let Some(token) = &creds.session_token {
            out.push(("x-amz-security-token", token.clone()));
        }
        out.push((
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
                creds.access_key
            ),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_795_000_000), "20261118T110640Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn aws_documented_signing_key() {
        // The example of AWS's SigV4 documentation: secret, 20120215, us-east-1, iam.
        let signer = Signer::new("us-east-1", "iam");
        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        assert_eq!(
            hex(&signer.signing_key(&creds, "20120215")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
