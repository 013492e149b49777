//! OpenID Provider front of mfa-gateway (protocol only). Built in its own issue.
