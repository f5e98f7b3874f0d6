//! How each figure is measured: the one place that says it. The text
//! report prints it under "Method", and `--json` carries it as `method`.

/// (figure, how it is measured), in the order the report shows them.
pub const METHOD: [(&str, &str); 6] = [
    (
        "floor",
        "A counter passed back and forth between two pinned CPUs through shared memory, with \
         no message and no system call, three ways: compare-and-swap on one cache line (each \
         side asks for the line to write it, so it moves once per hand-off), store/load on one \
         line, and store/load on two lines (each side writes its own). A sample is the time \
         between two of the parent's answers, one round trip. The lowest p50 is the floor: \
         nothing between two processes answers faster. A 64 B spin round trip comes \
         closest, but a message through a ring of slots moves two lines each way (the message, and the \
         slot's state word that announces it), so its round trip is about twice the floor \
         plus the copies. Only a message that announces itself (a sequence number inside \
         it) could do with one line, and the rings, which carry any bytes, do not assume \
         that.",
    ),
    (
        "round trip",
        "The parent reads the clock, sends a request, receives the whole reply, and reads the \
         clock again: one sample, timed alone, including one clock read (CLOCK_MONOTONIC). \
         The child checks the request's stamps and sends its body straight back; the parent \
         checks every byte of the reply after stopping the clock, so a request damaged on the \
         way there fails too. Shared-memory channels put each reply in its request's slot, \
         as a process owns the lines it has just read. p50, p99 and mean are over the timed \
         round trips, after a warm-up. The mean is what benchmarks that divide a total time by a count report.",
    ),
    (
        "throughput",
        "One way, parent to child. After a warm-up, with the reader waiting on an empty \
         channel, the parent reads the clock and writes the messages; the child reads and \
         checks each one and reads the clock when it has checked the last byte (the same \
         clock in both processes). Pipes and FIFOs are made as large as an unprivileged \
         process may (fcntl F_SETPIPE_SZ, 1 MiB by default) so that the writer does not stop \
         for the reader at every 64 KiB; shared-memory rings get 256 KiB of slots.",
    ),
    (
        "check",
        "Every message is checked, every byte. A message is prepared once; the writer then \
         rewrites only its stamps (its first word, the first word of each 4 KiB page, its last \
         word: direction and sequence number; every other word is one constant), and the reader \
         compares the stamps, then folds the rest against the constant in one pass. It \
         catches a lost, repeated, reordered, stale, torn or shifted \
         message and any byte that differs from what was sent.",
    ),
    (
        "large messages",
        "Between 4 KiB and 1 MiB messages through a pipe, what is the bench's (the pipe's \
         size, copies of our own) is done as above; what remains is the kernel's and the \
         cache's: the kernel copies every byte twice (writer to pipe pages, pipe pages to \
         reader), allocating and freeing a page for every 4 KiB, and a 1 MiB message, its \
         pipe pages and the reader's copy no longer fit in a CPU's cache, while 4 KiB ones do. \
         On two CPUs, whenever the pipe runs empty or full, a wake-up crosses to the other CPU.",
    ),
    (
        "placement",
        "same: both ends pinned to one CPU, so every hand-off is a switch between two \
         processes on one core (spin waits are skipped there); split: pinned to two CPUs, so \
         a blocking hand-off wakes the other CPU. The floor always uses two CPUs.",
    ),
];
