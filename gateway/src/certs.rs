//! Development TLS material made by `init`: a CA, a server certificate for localhost and a
//! client certificate (for RadSec clients), all under the CA. Real deployments point the
//! config at their own files.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files written, by role.
#[derive(Debug, Clone)]
pub struct DevCerts {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "mfa-gateway development");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Write a dev CA (`ca.pem`, `ca.key`), `server.pem`/`server.key` for localhost, 127.0.0.1
/// and ::1, and `client.pem`/`client.key` into `dir`. Keys are written owner-readable only.
pub fn generate_dev_certs(dir: &Path) -> Result<DevCerts, CertError> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = name("mfa-gateway dev CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let mut server = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    server.distinguished_name = name("localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca)?;

    let mut client = CertificateParams::new(vec!["radsec-client.localhost".to_owned()])?;
    client.distinguished_name = name("radsec-client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &ca)?;

    let out = DevCerts {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    };
    let write = |path: &Path, data: &str, private: bool| -> Result<(), CertError> {
        let r = if private {
            let _ = std::fs::remove_file(path);
            crate::crypto::write_private(path, data.as_bytes())
        } else {
            std::fs::write(path, data)
        };
        r.map_err(|source| CertError::Write {
            path: path.to_owned(),
            source,
        })
    };
    write(&out.ca_cert, &ca.pem(), false)?;
    write(&dir.join("ca.key"), &ca_key_pem, true)?;
    write(&out.server_cert, &server_cert.pem(), false)?;
    write(&out.server_key, &server_key.serialize_pem(), true)?;
    write(&out.client_cert, &client_cert.pem(), false)?;
    write(&out.client_key, &client_key.serialize_pem(), true)?;
    Ok(out)
}
