//! API tokens: `crm_<token id, 32 hex>_<secret, 64 hex>`.
//!
//! The token id is public (it is what `token list` and `token revoke` show); the secret is
//! 256 random bits that only the holder knows. We store the SHA-256 of the whole token:
//! a fast hash is right here because the input is high-entropy, so no password KDF is needed.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const PREFIX: &str = "crm_";
const SECRET_BYTES: usize = 32;

/// A freshly minted token: the plaintext is shown once and never stored.
#[derive(Debug)]
pub struct NewToken {
    /// Public identifier of the token.
    pub id: Uuid,
    /// The bearer string to hand to the user.
    pub plaintext: String,
    /// SHA-256 of `plaintext`, the only form that is stored.
    pub hash: [u8; 32],
}

impl NewToken {
    /// Mints a token with a random id and 256 random bits of secret.
    pub fn generate() -> NewToken {
        let id = Uuid::new_v4();
        let mut secret = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret);
        let plaintext = format!("{PREFIX}{}_{}", id.simple(), hex::encode(secret));
        let hash = digest(&plaintext);
        NewToken { id, plaintext, hash }
    }
}

/// A bearer string that has the shape of one of our tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    id: Uuid,
    hash: [u8; 32],
}

impl PresentedToken {
    /// Parses a bearer string; `None` when it cannot be one of ours (no lookup needed).
    pub fn parse(bearer: &str) -> Option<PresentedToken> {
        let rest = bearer.strip_prefix(PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        let valid_secret = secret.len() == SECRET_BYTES * 2
            && secret.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if id.len() != 32 || !valid_secret {
            return None;
        }
        let id = Uuid::try_parse(id).ok()?;
        Some(PresentedToken { id, hash: digest(bearer) })
    }

    /// The public token id, used to find the stored hash.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Compares with a stored hash in constant time.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        stored_hash.len() == self.hash.len() && bool::from(self.hash.ct_eq(stored_hash))
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_match_their_hash() {
        let token = NewToken::generate();
        let presented = PresentedToken::parse(&token.plaintext).unwrap();
        assert_eq!(presented.id(), token.id);
        assert!(presented.matches(&token.hash));
    }

    #[test]
    fn a_changed_secret_does_not_match() {
        let token = NewToken::generate();
        let mut tampered = token.plaintext.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        let presented = PresentedToken::parse(&tampered).unwrap();
        assert!(!presented.matches(&token.hash));
    }

    #[test]
    fn malformed_bearer_strings_are_rejected_without_lookup() {
        let good = NewToken::generate().plaintext;
        let cases = [
            String::new(),
            "crm_".into(),
            good.replacen("crm_", "xyz_", 1),
            good[..good.len() - 1].to_owned(),
            good.to_uppercase(),
            format!("{good}0"),
        ];
        for bad in cases {
            assert!(PresentedToken::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tokens_carry_at_least_128_random_bits() {
        let a = NewToken::generate();
        let b = NewToken::generate();
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.plaintext.len(), 4 + 32 + 1 + 64);
    }
}
