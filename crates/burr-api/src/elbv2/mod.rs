//! The ELBv2 API, version 2015-12-01 (application and network load balancers). Until the
//! foundation's dispatch lands, this holds only the wire codecs of listener actions and rule
//! conditions.

pub mod actions;
