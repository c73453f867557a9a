//! listenspec: where a server listens, and what clients type to reach it.
#![deny(missing_docs)]

pub mod class;
pub mod host;
pub mod spec;

pub use class::AddrClass;
pub use host::{DnsAnswer, Host, HostBuilder, HostError, Interface};
pub use spec::{
    Advertise, Device, Endpoint, EndpointOptions, Exposure, Family, ListenSpec, Name, Network, Ports,
    Protocol, Selector, SpecError, SpecErrorKind, Transport,
};
pub mod plan;

pub use plan::{
    Advertised, Bind, Chosen, Plan, PlanError, PlanOptions, PlannedEndpoint, PlannedNetwork,
    Problem, ProblemKind, Why, plan, plan_with,
};

impl ListenSpec {
    /// Plans this spec against a host snapshot; see [`plan()`].
    pub fn plan(&self, host: &Host) -> Result<Plan, PlanError> {
        plan::plan(self, host)
    }
}
