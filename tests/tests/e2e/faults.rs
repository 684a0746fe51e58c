//! Faults under load: nothing acknowledged is lost.
