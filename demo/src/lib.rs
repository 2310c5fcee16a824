//! The demo province (issue #10): `qianlink demo` and the demo test use it.
//!
//! * [`world`] builds a province in miniature from a seed, as plain data.
//! * [`load`] writes it through the store (the API's own code paths), in
//!   batches, once: a second run finds it and writes nothing.
//! * [`chain`] runs the chain once over HTTP and prints the tour: every step
//!   with the `curl` line that repeats it.
//! * [`words`] holds the places, names and trades it draws from.

pub mod chain;
pub mod load;
pub mod words;
pub mod world;

pub use load::{Counts, DemoKey, Generated, generate};
pub use world::Spec;
