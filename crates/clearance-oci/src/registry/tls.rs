//! rustls client configuration: system roots plus an optional extra bundle.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::registry::RegistryError;

/// rustls client configuration: the system's roots, plus the PEM
/// certificates in `extra_ca` when given; ring as the crypto provider.
pub fn client_config(extra_ca: Option<&Path>) -> Result<rustls::ClientConfig, RegistryError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert); // a malformed system root is skipped, as browsers do
    }
    if let Some(path) = extra_ca {
        let mut added = 0;
        let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
            RegistryError::Tls(format!("reading CA bundle {}: {e}", path.display()))
        })?;
        for cert in iter {
            let cert =
                cert.map_err(|e| RegistryError::Tls(format!("CA bundle {}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| RegistryError::Tls(format!("CA bundle {}: {e}", path.display())))?;
            added += 1;
        }
        if added == 0 {
            return Err(RegistryError::Tls(format!(
                "CA bundle {} holds no PEM certificates",
                path.display()
            )));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
