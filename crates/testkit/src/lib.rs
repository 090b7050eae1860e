//! Software authenticator for tests.
