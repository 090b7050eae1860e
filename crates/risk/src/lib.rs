//! Continuous-authentication scoring (pure, no I/O).
