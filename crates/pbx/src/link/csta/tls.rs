//! TLS for CSTA links (Avaya DMCC 4722 and others): rustls with the ring provider.
//!
//! PBX certificates are rarely issued by public CAs, so the trusted certificates come from
//! the connection's settings (the PBX's CA or its self-signed certificate, PEM). Turning
//! verification off is possible for a lab and logged as a warning.

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};

use super::LinkFailure;

/// How to secure a link.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// PEM certificates trusted for the PBX.
    pub trusted_pem: Option<Vec<u8>>,
    /// Check the PBX's certificate and name (only a lab turns this off).
    pub verify: bool,
    /// The name in the PBX's certificate; default: the host.
    pub server_name: Option<String>,
}

/// A connector for `settings`, or why the settings cannot work.
pub fn connector(settings: &TlsSettings) -> Result<TlsConnector, LinkFailure> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(LinkFailure::TlsConfig)?;
    let config = if settings.verify {
        let pem = settings
            .trusted_pem
            .as_deref()
            .ok_or(LinkFailure::TlsNoTrustedCertificates)?;
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(LinkFailure::TlsBadPem)?;
            roots
                .add(certificate)
                .map_err(LinkFailure::TlsUnusableCertificate)?;
        }
        if roots.is_empty() {
            return Err(LinkFailure::TlsEmptyTrustFile);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        tracing::warn!("TLS certificate verification is off for a PBX link: use only in a lab");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name to present and verify.
pub fn server_name(settings: &TlsSettings, host: &str) -> Result<ServerName<'static>, LinkFailure> {
    let name = settings.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string()).map_err(|error| LinkFailure::TlsServerName {
        name: name.to_string(),
        error,
    })
}

/// Accepts any certificate (verification off), still checking handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
