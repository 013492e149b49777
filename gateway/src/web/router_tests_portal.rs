//! In-process router tests of the sign-in, portal and account pages and forms.
