//! Encryption at rest and keyed hashes for personal data (ID and phone numbers).
//!
//! One 32-byte data key (`QIANLINK_DATA_KEY`, 64 hex characters) is split by
//! HMAC into an XChaCha20-Poly1305 key for ciphertexts and an HMAC key for
//! look-up hashes, so the same value always hashes the same but the hash
//! reveals nothing without the key.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("QIANLINK_DATA_KEY must be 64 hexadecimal characters (32 bytes); make one with `qianlink gen-key`")]
    BadKey,
    #[error("a stored ciphertext could not be decrypted with this data key")]
    Decrypt,
}

#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    hash_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn derive(key: &[u8], label: &[u8]) -> Result<[u8; 32], VaultError> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).map_err(|_| VaultError::BadKey)?;
    mac.update(label);
    Ok(mac.finalize().into_bytes().into())
}

impl Vault {
    pub fn from_hex(hex_key: &str) -> Result<Self, VaultError> {
        let raw = hex::decode(hex_key.trim()).map_err(|_| VaultError::BadKey)?;
        if raw.len() != 32 {
            return Err(VaultError::BadKey);
        }
        let enc = derive(&raw, b"qianlink/encrypt/v1")?;
        let hash_key = derive(&raw, b"qianlink/lookup-hash/v1")?;
        let cipher = XChaCha20Poly1305::new_from_slice(&enc).map_err(|_| VaultError::BadKey)?;
        Ok(Self { cipher, hash_key })
    }

    /// A fresh random key in hex, for `qianlink gen-key`, the demo and tests.
    pub fn generate_hex() -> String {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        hex::encode(k)
    }

    /// `nonce (24 bytes) || ciphertext`.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption only fails for plaintexts beyond 256 GiB.
        let ct = self.cipher.encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes()).unwrap_or_default();
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn decrypt(&self, blob: &[u8]) -> Result<String, VaultError> {
        if blob.len() < 24 {
            return Err(VaultError::Decrypt);
        }
        let (nonce, ct) = blob.split_at(24);
        let pt = self.cipher.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| VaultError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| VaultError::Decrypt)
    }

    /// Keyed look-up hash; `kind` separates ID numbers from phones.
    pub fn lookup_hash(&self, kind: &str, value: &str) -> Vec<u8> {
        let mut mac = match <HmacSha256 as Mac>::new_from_slice(&self.hash_key) {
            Ok(m) => m,
            Err(_) => return Vec::new(), // unreachable: HMAC takes any key length
        };
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_keyed_hash() {
        let v = Vault::from_hex(&Vault::generate_hex()).unwrap();
        let blob = v.encrypt("11010519491231002X");
        assert!(!blob.windows(18).any(|w| w == b"11010519491231002X"));
        assert_eq!(v.decrypt(&blob).unwrap(), "11010519491231002X");
        assert_eq!(v.lookup_hash("id", "x"), v.lookup_hash("id", "x"));
        assert_ne!(v.lookup_hash("id", "x"), v.lookup_hash("phone", "x"));
        let other = Vault::from_hex(&Vault::generate_hex()).unwrap();
        assert_ne!(v.lookup_hash("id", "x"), other.lookup_hash("id", "x"));
        assert_eq!(other.decrypt(&blob), Err(VaultError::Decrypt));
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(Vault::from_hex("abc").is_err());
        assert!(Vault::from_hex(&"zz".repeat(32)).is_err());
        assert!(Vault::from_hex(&"ab".repeat(31)).is_err());
    }
}
