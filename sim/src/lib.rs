//! What the two simulations, `shm-sim` and `msg-sim`, share: the
//! controller's [`console`] (commands from a person at a terminal or from a
//! script, and a clean stop on Ctrl-C or SIGTERM) and its [`link`]s to
//! Process A and Process B (each forked with a pipe for commands and a pipe
//! for reports). What A and B do with the segment or the queue stays in each
//! simulation.

pub mod console;
pub mod link;
