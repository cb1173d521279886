//! `sandcall-cli`: the `sandcall` command line, and the programs it runs
//! beside plain requests. The library part exists so that the integration
//! tests can drive the same code the binary runs.
//!
//! # Layout
//! - `main.rs`: the command line (clap), `--embedded`, logging.
//! - [`script`]: the line commands of `sandcall run` and `sandcall shell`;
//!   [`words`]: how a line splits into words, WAVE values kept whole.
//! - [`wast`]: `sandcall wast`, the WebAssembly spec test scripts run
//!   through the wire.
//! - [`corpus`]: hostile guests and the outcome each must have per mode;
//!   [`compare`]: `sandcall compare`, the corpus and the sorts in both modes
//!   beside the same sorts compiled natively.

pub mod compare;
pub mod corpus;
pub mod script;
pub mod wast;
pub mod words;
