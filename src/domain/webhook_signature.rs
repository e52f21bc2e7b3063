//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the secret is `whsec_`
//! followed by the base64 of the key, and each delivery carries
//! `webhook-signature: v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`.
//! Signing the id and the timestamp with the body lets receivers reject replays.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use ring::hmac;

const PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

/// A signing secret, as shown once to the subscriber and stored for signing.
#[derive(Clone)]
pub struct SigningSecret {
    key: hmac::Key,
}

impl SigningSecret {
    /// Mints a secret of 256 random bits; returns it with its `whsec_…` form.
    pub fn generate() -> (SigningSecret, String) {
        let mut key = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        let text = format!("{PREFIX}{}", STANDARD.encode(key));
        (SigningSecret { key: hmac::Key::new(hmac::HMAC_SHA256, &key) }, text)
    }

    /// Reads a stored `whsec_…` secret; `None` if it is not one.
    pub fn parse(text: &str) -> Option<SigningSecret> {
        let key = STANDARD.decode(text.strip_prefix(PREFIX)?).ok()?;
        Some(SigningSecret { key: hmac::Key::new(hmac::HMAC_SHA256, &key) })
    }

    /// The `webhook-signature` header value for one delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn matches_the_specification_example() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_round_trip() {
        let (secret, text) = SigningSecret::generate();
        assert!(text.starts_with("whsec_"));
        let again = SigningSecret::parse(&text).unwrap();
        assert_eq!(secret.sign("id", 1, b"{}"), again.sign("id", 1, b"{}"));
        assert!(SigningSecret::parse("nope").is_none());
    }
}
