//! Unit tests of the canary routing step.
