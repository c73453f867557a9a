//! The spec's network and endpoint names, as a plan holds them.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::spec::{Endpoint, ListenSpec, Name, Network};

/// A network's or endpoint's name in a plan.
///
/// A plan mentions each name in several places (the planned network, each of
/// its endpoints, every finding about them), and copying the string for each
/// mention was a good part of planning a small spec. So a plan copies the
/// names once into one shared list, and each mention refers into it.
#[derive(Clone)]
pub(crate) struct SharedName {
    all: Arc<[Name]>,
    /// `index < all.len()`: [`SpecNames`] hands out only indexes it checked.
    index: usize,
}

impl Deref for SharedName {
    type Target = Name;

    fn deref(&self) -> &Name {
        // In bounds: see the field.
        &self.all[self.index]
    }
}

impl PartialEq for SharedName {
    /// The same name, wherever it is kept.
    fn eq(&self, other: &SharedName) -> bool {
        (Arc::ptr_eq(&self.all, &other.all) && self.index == other.index) || **self == **other
    }
}

impl Eq for SharedName {}

impl fmt::Debug for SharedName {
    /// As the [`Name`] itself shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for SharedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Every network name of a spec, then every endpoint name, copied once.
pub(crate) struct SpecNames {
    all: Arc<[Name]>,
    networks: usize,
}

impl SpecNames {
    pub(crate) fn new(spec: &ListenSpec) -> SpecNames {
        let networks = spec.networks().iter().map(Network::name);
        let endpoints = spec.endpoints().iter().map(Endpoint::name);
        SpecNames {
            // The length is known up front, so this is one allocation.
            all: networks.chain(endpoints).cloned().collect(),
            networks: spec.networks().len(),
        }
    }

    /// The name of the spec's network `i`.
    ///
    /// # Panics
    ///
    /// If the spec has no network `i`.
    pub(crate) fn network(&self, i: usize) -> SharedName {
        assert!(i < self.networks, "no network {i}");
        self.at(i)
    }

    /// The name of the spec's endpoint `i`.
    ///
    /// # Panics
    ///
    /// If the spec has no endpoint `i`.
    pub(crate) fn endpoint(&self, i: usize) -> SharedName {
        assert!(self.networks + i < self.all.len(), "no endpoint {i}");
        self.at(self.networks + i)
    }

    fn at(&self, index: usize) -> SharedName {
        SharedName {
            all: Arc::clone(&self.all),
            index,
        }
    }
}
