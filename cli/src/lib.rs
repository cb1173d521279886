//! `sandcall-cli`: the `sandcall` command line, and the programs it runs
//! beside plain requests. The library part exists so that the integration
//! tests can drive the same code the binary runs.
//!
//! # Layout
//! - `main.rs`: the command line (clap), `--embedded`, logging.
//! - [`script`]: the line commands of `sandcall run` and `sandcall shell`
//!   on one [`script::Session`] (its `eval` command in `script/eval.rs`);
//!   [`call_args`]: a call's options and
//!   arguments; [`commands`]: their table (help, usage,
//!   "did you mean"); [`words`]: how a line splits into words, WAVE values
//!   kept whole; [`input`]: large `--input` lists streamed into packed bytes;
//!   [`module`]: module files as uploaded (WAT compiled here).
//! - [`outcome`]: what a command produced or why it failed, in words;
//!   [`report`]: where it is printed, and `sandcall run`; [`json`]: `--json`.
//! - [`shell`]: `sandcall shell`: line editing, completion, Ctrl-C.
//! - [`scaffold`]: `sandcall new guest`; [`guest_build`]: `sandcall build`.
//! - [`wast`]: `sandcall wast`, the WebAssembly spec test scripts run
//!   through the wire.
//! - [`corpus`]: hostile guests and the outcome each must have per mode;
//!   [`compare`]: `sandcall compare`, the corpus and the sorts in both modes
//!   beside the same sorts compiled natively.

pub mod call_args;
pub mod commands;
pub mod compare;
pub mod corpus;
pub mod guest_build;
pub mod input;
pub mod json;
pub mod module;
pub mod outcome;
pub mod report;
pub mod scaffold;
pub mod script;
pub mod shell;
pub mod wast;
pub mod words;
