//! The questions, as data: each one written from a section of the tutorial
//! *Inter-Process Communication* that this workspace follows, with the
//! tutorial's own quiz question first.
//!
//! A section is named by the tutorial's headings, `Heading: Subheading`, or
//! the heading alone when the question draws on text directly under it (the
//! comparison table has no heading of its own: it closes "Common IPC
//! Mechanisms").

/// A tutorial section that questions come from, in the tutorial's order:
/// sorting sections sorts them as a reader meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    WhatIsIpc,
    CommunicationModels,
    SharedMemory,
    Pipes,
    MessageQueues,
    Sockets,
    Signals,
    Semaphores,
    MemoryMappedFiles,
    /// The text directly under "Common IPC Mechanisms" that no subheading
    /// holds: the comparison table, which closes the section, and what the
    /// mechanism descriptions say about the table's columns.
    Mechanisms,
    /// The two simulations and the learning tip: the two communication models.
    Simulations,
    /// "Common Challenges with IPC": race conditions, deadlocks, resource
    /// management (cleanup), error handling.
    Challenges,
    Synchronization,
    ClientServer,
}

impl Section {
    /// Every section, in the tutorial's order. The quiz covers all of them:
    /// the sections that issue 4 lists, plus the introduction.
    #[cfg(test)]
    pub const ALL: [Section; 14] = [
        Section::WhatIsIpc,
        Section::CommunicationModels,
        Section::SharedMemory,
        Section::Pipes,
        Section::MessageQueues,
        Section::Sockets,
        Section::Signals,
        Section::Semaphores,
        Section::MemoryMappedFiles,
        Section::Mechanisms,
        Section::Simulations,
        Section::Challenges,
        Section::Synchronization,
        Section::ClientServer,
    ];

    /// The section as the tutorial's headings name it.
    pub fn heading(self) -> &'static str {
        match self {
            Section::WhatIsIpc => "What is Inter-Process Communication?",
            Section::CommunicationModels => "Communication Models in IPC",
            Section::Mechanisms => "Common IPC Mechanisms",
            Section::SharedMemory => "Common IPC Mechanisms: Shared Memory",
            Section::Pipes => "Common IPC Mechanisms: Pipes",
            Section::MessageQueues => "Common IPC Mechanisms: Message Queues",
            Section::Sockets => "Common IPC Mechanisms: Sockets",
            Section::Signals => "Common IPC Mechanisms: Signals",
            Section::Semaphores => "Common IPC Mechanisms: Semaphores",
            Section::MemoryMappedFiles => "Common IPC Mechanisms: Memory-Mapped Files",
            Section::Simulations => "Interactive IPC Simulations",
            Section::Challenges => {
                "Best Practices and Considerations: Choosing the Right IPC Mechanism"
            }
            Section::Synchronization => "Best Practices and Considerations: Synchronization Issues",
            Section::ClientServer => "Real-World Applications of IPC: Client-Server Applications",
        }
    }
}

/// The letter of an option: its place in the question as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Letter {
    A,
    B,
    C,
    D,
}

impl Letter {
    pub const ALL: [Letter; 4] = [Letter::A, Letter::B, Letter::C, Letter::D];

    /// The option's index: A is 0.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_char(self) -> char {
        ['A', 'B', 'C', 'D'][self.index()]
    }

    /// The letter a student typed: one of A to D, either case, spaces around
    /// it ignored. Anything else is not an answer.
    pub fn parse(typed: &str) -> Option<Letter> {
        let mut chars = typed.trim().chars();
        let letter = chars.next()?.to_ascii_uppercase();
        if chars.next().is_some() {
            return None;
        }
        Letter::ALL.into_iter().find(|l| l.as_char() == letter)
    }
}

/// One question, as written: four options, the letter of the right one, the
/// section it comes from, and why the answer is right (one or two sentences).
#[derive(Debug)]
pub struct Question {
    pub text: &'static str,
    pub options: [&'static str; 4],
    pub answer: Letter,
    pub section: Section,
    pub explanation: &'static str,
}

use Letter::{A, B, C, D};

/// The quiz in its default order: the tutorial's own question, then the
/// tutorial from top to bottom.
pub static QUESTIONS: &[Question] = &[
    Question {
        // The tutorial's "IPC Quiz", word for word.
        text: "Which IPC mechanism typically provides the fastest data transfer for large amounts of data?",
        options: ["Pipes", "Shared Memory", "Message Queues", "Sockets"],
        answer: B,
        section: Section::SharedMemory,
        explanation: "Shared memory is typically the fastest IPC method: its advantage is very high speed, \
                      especially for large amounts of data. This is the tutorial's own quiz question.",
    },
    Question {
        text: "Why do processes need IPC mechanisms to exchange data?",
        options: [
            "All processes share one memory space, and IPC keeps them apart",
            "They typically run in isolated memory spaces, to ensure stability and security",
            "The operating system runs only one process at a time",
            "Processes can only reach each other across a network",
        ],
        answer: B,
        section: Section::WhatIsIpc,
        explanation: "Processes typically run in isolated memory spaces to ensure stability and security, \
                      so IPC methods provide controlled ways for them to exchange data and signals.",
    },
    Question {
        text: "IPC mechanisms generally fall into two communication models. What does the tutorial's note add?",
        options: [
            "Every IPC mechanism belongs to exactly one of the two models",
            "The two models apply only to processes on different machines",
            "Some IPC mechanisms combine elements of both models or offer variations",
            "Modern operating systems use only one of the two models",
        ],
        answer: C,
        section: Section::CommunicationModels,
        explanation: "After naming the two communication models, the tutorial notes that some IPC mechanisms \
                      combine elements of both or offer variations tailored to specific use cases.",
    },
    Question {
        text: "Why is shared memory typically the fastest IPC method?",
        options: [
            "The kernel passes each piece of data on as an intermediary",
            "Messages are stored and retrieved automatically",
            "It needs no synchronization at all",
            "Data doesn't need to be copied between processes",
        ],
        answer: D,
        section: Section::SharedMemory,
        explanation: "Multiple processes access the same block of memory, so data doesn't need to be copied \
                      between them. It still requires synchronization (semaphores, mutexes) to prevent race conditions.",
    },
    Question {
        text: "Which processes can communicate through a named pipe (FIFO)?",
        options: [
            "Unrelated processes",
            "Only a parent and its child",
            "Only processes on different machines",
            "Only the kernel and one process",
        ],
        answer: A,
        section: Section::Pipes,
        explanation: "Standard pipes connect related processes (like parent and child), while named pipes (FIFOs) \
                      allow unrelated processes to communicate.",
    },
    Question {
        text: "Which of these does the tutorial list as an advantage of message queues?",
        options: [
            "Simpler to use than pipes",
            "Prioritization capability",
            "No overhead",
            "The fastest speed in the comparison table",
        ],
        answer: B,
        section: Section::MessageQueues,
        explanation: "Message queues offer persistence of messages, prioritization capability and many-to-many \
                      communication; they are more complex than pipes, with potential overhead.",
    },
    Question {
        text: "Which limitation does the tutorial give for sockets?",
        options: [
            "They carry data in one direction only",
            "They cannot be used within a single system",
            "More overhead than other local IPC methods",
            "They have no standard API",
        ],
        answer: C,
        section: Section::Sockets,
        explanation: "Sockets are bidirectional, have a standard API and also work within a single system \
                      (Unix domain sockets); their limitation is more overhead than other local IPC methods.",
    },
    Question {
        text: "Network support is a column of the comparison table. Which mechanism does the tutorial say works across different machines?",
        options: ["Pipes", "Sockets", "Signals", "Semaphores"],
        answer: B,
        section: Section::Sockets,
        explanation: "Sockets send and receive data across a network or within a single system; working across \
                      different machines is the first advantage the tutorial lists for them.",
    },
    Question {
        text: "What are signals used for, according to the tutorial?",
        options: [
            "Exchanging large amounts of data quickly",
            "Storing messages until another process retrieves them",
            "Sharing a file through the filesystem",
            "Simple notifications rather than data exchange",
        ],
        answer: D,
        section: Section::Signals,
        explanation: "Signals are software interrupts sent to a process to notify it of important events: \
                      they are used for simple notifications rather than data exchange.",
    },
    Question {
        text: "How do semaphores help processes that share data?",
        options: [
            "They coordinate access to the shared data, without transferring data themselves",
            "They copy the shared data from one process to the other",
            "They send the shared data across the network",
            "They store the shared data persistently in a file",
        ],
        answer: A,
        section: Section::Semaphores,
        explanation: "Semaphores are synchronization primitives that control access to shared resources: \
                      they don't transfer data directly but coordinate access to shared data.",
    },
    Question {
        text: "How do memory-mapped files let processes share data?",
        options: [
            "The kernel passes the file's contents between the processes as discrete messages",
            "A file is mapped directly into a process's address space, so processes share data through the filesystem",
            "A software interrupt delivers the file's contents to the other process",
            "Each process receives its own copy of the file over a Unix domain socket",
        ],
        answer: B,
        section: Section::MemoryMappedFiles,
        explanation: "Memory-mapped files allow a file to be mapped directly into a process's address space, \
                      allowing processes to share data through the filesystem.",
    },
    Question {
        text: "Which two mechanisms does the tutorial's comparison table rate as \"Fast\"?",
        options: [
            "Message Queues and Sockets",
            "Sockets and Pipes",
            "Pipes and Memory-Mapped Files",
            "Message Queues and Memory-Mapped Files",
        ],
        answer: C,
        section: Section::Mechanisms,
        explanation: "In the comparison table's Speed column, shared memory is Very Fast, pipes and memory-mapped \
                      files are Fast, and message queues and sockets are Medium.",
    },
    Question {
        text: "Which mechanism does the comparison table give the lowest complexity?",
        options: ["Shared Memory", "Message Queues", "Sockets", "Pipes"],
        answer: D,
        section: Section::Mechanisms,
        explanation: "In the comparison table's Complexity column, pipes are Low; shared memory, message queues \
                      and memory-mapped files are Medium; sockets are High.",
    },
    Question {
        text: "Persistence is a column of the comparison table. Which two mechanisms does the tutorial credit with persistence?",
        options: [
            "Message Queues and Memory-Mapped Files",
            "Pipes and Signals",
            "Shared Memory and Sockets",
            "Semaphores and Pipes",
        ],
        answer: A,
        section: Section::Mechanisms,
        explanation: "Among the mechanisms' advantages, message queues list \"persistence of messages\" and \
                      memory-mapped files \"persistence\".",
    },
    Question {
        text: "What is the key difference between the shared memory and message passing approaches to IPC?",
        options: [
            "Message passing gives direct access without kernel mediation; shared memory relies on the kernel as an intermediary",
            "Both send every piece of data through the kernel",
            "Shared memory gives direct access without kernel mediation; message passing relies on the kernel as an intermediary",
            "Both give processes direct access to each other's memory, without the kernel",
        ],
        answer: C,
        section: Section::Simulations,
        explanation: "The learning tip: shared memory provides direct access without kernel mediation, while \
                      message passing relies on the kernel as an intermediary that mediates messages between isolated processes.",
    },
    Question {
        text: "What is a race condition, in the tutorial's list of common challenges with IPC?",
        options: [
            "Processes waiting for each other indefinitely",
            "Multiple processes accessing shared resources without proper synchronization",
            "IPC resources that are not cleaned up",
            "A signal that is lost because it was not handled promptly",
        ],
        answer: B,
        section: Section::Challenges,
        explanation: "Race conditions happen when multiple processes access shared resources without proper \
                      synchronization; waiting for each other indefinitely is a deadlock.",
    },
    Question {
        text: "Which common challenge with IPC does the tutorial describe as processes waiting for each other indefinitely?",
        options: [
            "Race Conditions",
            "Resource Management",
            "Deadlocks",
            "Error Handling",
        ],
        answer: C,
        section: Section::Challenges,
        explanation: "Deadlocks are processes waiting for each other indefinitely; the tutorial warns that \
                      semaphores can lead to deadlocks if not carefully managed.",
    },
    Question {
        text: "What is the \"Resource Management\" challenge of IPC about?",
        options: [
            "Choosing the fastest mechanism for large amounts of data",
            "Giving every process its own isolated memory space",
            "Letting processes on different machines communicate",
            "Ensuring proper cleanup of IPC resources",
        ],
        answer: D,
        section: Section::Challenges,
        explanation: "Resource management means ensuring proper cleanup of IPC resources, as the tutorial's shared \
                      memory example does when it removes its segment with shmctl(IPC_RMID).",
    },
    Question {
        text: "Which common challenge with IPC is about dealing with various failure scenarios?",
        options: [
            "Error Handling",
            "Race Conditions",
            "Deadlocks",
            "Resource Management",
        ],
        answer: A,
        section: Section::Challenges,
        explanation: "Error handling means dealing with various failure scenarios; the tutorial's examples report \
                      a failed call such as shmget or msgget with perror.",
    },
    Question {
        text: "When does the tutorial say proper synchronization is essential?",
        options: [
            "Only when the processes run on different machines",
            "When IPC mechanisms involve shared resources, especially shared memory",
            "Only when signals are used",
            "Never: the kernel synchronizes access to shared memory by itself",
        ],
        answer: B,
        section: Section::Synchronization,
        explanation: "When IPC mechanisms involve shared resources (especially shared memory), proper synchronization \
                      is essential to prevent race conditions; the tutorial's example places a mutex in shared memory.",
    },
    Question {
        text: "Which IPC mechanism do most client-server applications especially rely on?",
        options: ["Signals", "Semaphores", "Memory-Mapped Files", "Sockets"],
        answer: D,
        section: Section::ClientServer,
        explanation: "Most client-server applications rely on IPC mechanisms, especially sockets, to facilitate \
                      communication between client and server processes.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_tutorials_own_question_comes_first_word_for_word() {
        let first = &QUESTIONS[0];
        assert_eq!(
            first.text,
            "Which IPC mechanism typically provides the fastest data transfer for large amounts of data?"
        );
        assert_eq!(
            first.options,
            ["Pipes", "Shared Memory", "Message Queues", "Sockets"]
        );
        assert_eq!(first.answer, Letter::B);
    }

    #[test]
    fn there_are_at_least_fifteen_questions() {
        assert!(QUESTIONS.len() >= 15, "{} questions", QUESTIONS.len());
    }

    #[test]
    fn every_question_has_four_distinct_non_empty_options() {
        for q in QUESTIONS {
            let distinct: HashSet<_> = q.options.iter().map(|o| o.trim()).collect();
            assert_eq!(distinct.len(), 4, "duplicate options in {:?}", q.text);
            assert!(q.options.iter().all(|o| !o.trim().is_empty()), "{q:?}");
        }
    }

    #[test]
    fn every_question_has_exactly_one_answer_among_its_options() {
        // `answer` is one letter by its type; it must also name an option
        // that differs from the others, which the distinct-options test checks.
        for q in QUESTIONS {
            assert!(q.answer.index() < q.options.len(), "{q:?}");
        }
    }

    #[test]
    fn no_question_is_asked_twice() {
        let distinct: HashSet<_> = QUESTIONS
            .iter()
            .map(|q| q.text.trim().to_lowercase())
            .collect();
        assert_eq!(distinct.len(), QUESTIONS.len());
    }

    #[test]
    fn every_explanation_is_one_or_two_sentences_and_has_a_named_section() {
        for q in QUESTIONS {
            let sentences = q.explanation.matches(". ").count() + 1;
            assert!(
                !q.explanation.trim().is_empty() && q.explanation.ends_with('.'),
                "{q:?}"
            );
            assert!(sentences <= 2, "{sentences} sentences in {q:?}");
            assert!(!q.section.heading().is_empty());
        }
    }

    #[test]
    fn every_section_is_covered() {
        for section in Section::ALL {
            assert!(
                QUESTIONS.iter().any(|q| q.section == section),
                "no question on {}",
                section.heading()
            );
        }
    }

    #[test]
    fn the_sections_are_listed_once_in_the_tutorials_order() {
        assert!(Section::ALL.is_sorted_by(|a, b| a < b));
        let headings: HashSet<_> = Section::ALL.iter().map(|s| s.heading()).collect();
        assert_eq!(headings.len(), Section::ALL.len());
    }

    #[test]
    fn every_topic_the_issue_names_is_asked_about() {
        // The comparison table's columns and the four common challenges, by
        // the words the tutorial uses for them.
        let topics = [
            "Speed",
            "Complexity",
            "persistence",
            "different machines",
            "race condition",
            "deadlock",
            "cleanup",
            "failure scenarios",
        ];
        for topic in topics {
            let topic = topic.to_lowercase();
            assert!(
                QUESTIONS.iter().any(|q| {
                    format!("{} {}", q.text, q.explanation)
                        .to_lowercase()
                        .contains(&topic)
                }),
                "no question on {topic:?}"
            );
        }
    }

    #[test]
    fn default_order_follows_the_tutorial_after_its_own_question() {
        assert!(QUESTIONS[1..].is_sorted_by_key(|q| q.section));
    }

    #[test]
    fn letters_parse_in_either_case_with_spaces_around() {
        assert_eq!(Letter::parse("b"), Some(Letter::B));
        assert_eq!(Letter::parse("  D \r\n"), Some(Letter::D));
        assert_eq!(Letter::parse("\tA"), Some(Letter::A));
        for typed in ["", " ", "E", "AB", "b.", "1", "B C", "é"] {
            assert_eq!(Letter::parse(typed), None, "{typed:?}");
        }
    }
}
