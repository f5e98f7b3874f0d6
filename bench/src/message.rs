//! What a message holds, so that the receiver can check every byte of it
//! for about the cost of one `memcmp`.
//!
//! A message is a run of 64-bit words. Most of them are its body, the same
//! in every message: word `k` holds `k << 40 | BODY`. The stamp words, word
//! 0, the first word of every 4 KiB page and the last word, hold
//! `tag | k << 40 | seq`: the sequence number, and a tag in the top bits
//! saying which way the message goes (request, reply, or data of a one-way
//! stream). So the writer prepares a message once and then rewrites only
//! its stamps (two words of a 4 KiB message), and the reader compares the
//! stamps and then the body with a copy of it (`memcmp`, which runs at the
//! speed of the cache).
//!
//! What the check catches: a lost, repeated, reordered or stale message
//! (the stamps carry the sequence number and the direction), a torn one
//! (its first and last words, and each page, are stamped), one shifted by
//! any number of bytes (every word holds its own position), and any byte
//! that differs from what was sent. What it cannot see is a body byte
//! swapped with the same byte of another message: those bytes are equal.

use anyhow::bail;

/// Which way a message goes, kept in the top two bits of its stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Parent to child, in a round trip.
    Request,
    /// Child to parent: the request, sent back with this tag.
    Reply,
    /// Parent to child, in a one-way stream.
    Data,
}

impl Tag {
    fn bits(self) -> u64 {
        match self {
            Tag::Request => 1 << 62,
            Tag::Reply => 2 << 62,
            Tag::Data => 3 << 62,
        }
    }
}

/// Sequence numbers stay below 2^40 - 1, so that `k << 40 | seq` is unique
/// and differs from every body word.
pub const MAX_SEQ: u64 = (1 << 40) - 1;

/// The low 40 bits of a body word: a sequence number no message has.
const BODY: u64 = MAX_SEQ;

/// One stamp word in every page of this many words (4 KiB).
const PAGE_WORDS: usize = 512;

fn is_stamp(k: usize, words: usize) -> bool {
    k.is_multiple_of(PAGE_WORDS) || k + 1 == words
}

/// Word `k` of a message of `words` words.
fn word(k: usize, words: usize, seq: u64, tag: Tag) -> u64 {
    if is_stamp(k, words) {
        tag.bits() | ((k as u64) << 40) | seq
    } else {
        ((k as u64) << 40) | BODY
    }
}

/// Writes the whole of message `seq` into `buf`, whose length is a multiple
/// of 8: how a writer prepares its buffer, once.
pub fn fill(buf: &mut [u8], seq: u64, tag: Tag) {
    let (words, _) = buf.as_chunks_mut::<8>();
    let n = words.len();
    for (k, w) in words.iter_mut().enumerate() {
        *w = word(k, n, seq, tag).to_le_bytes();
    }
}

/// Turns a message made by [`fill`] into message `seq` with `tag`, by
/// rewriting its stamps only: how the writer makes each next message, and
/// how the child turns a request into its reply.
pub fn stamp(buf: &mut [u8], seq: u64, tag: Tag) {
    let (words, _) = buf.as_chunks_mut::<8>();
    let n = words.len();
    for k in (0..n).step_by(PAGE_WORDS).chain(n.checked_sub(1)) {
        words[k] = word(k, n, seq, tag).to_le_bytes();
    }
}

/// What every message of one size must be, to check received ones against.
#[derive(Debug)]
pub struct Expected {
    /// A filled message: its body is every message's body.
    model: Vec<u8>,
}

impl Expected {
    pub fn new(size: usize) -> Self {
        let mut model = vec![0; size];
        fill(&mut model, 0, Tag::Data);
        Self { model }
    }

    /// Checks that `buf` is exactly message `seq` with `tag`: its stamps,
    /// then every other byte, a page at a time, with `memcmp`.
    pub fn check(&self, buf: &[u8], seq: u64, tag: Tag) -> anyhow::Result<()> {
        let (words, rest) = buf.as_chunks::<8>();
        if !rest.is_empty() || buf.len() != self.model.len() {
            bail!(
                "message {seq}: {} bytes, expected {}",
                buf.len(),
                self.model.len()
            );
        }
        let n = words.len();
        let stamps_ok = (0..n)
            .step_by(PAGE_WORDS)
            .chain(n.checked_sub(1))
            .all(|k| u64::from_le_bytes(words[k]) == word(k, n, seq, tag));
        // Between two stamps, the body: bytes 8.. of each page, and of the
        // last page all but its last word.
        let body_ok = (0..n).step_by(PAGE_WORDS).all(|first| {
            let end = (first + PAGE_WORDS).min(n.saturating_sub(1)).max(first + 1);
            buf[8 * (first + 1)..8 * end] == self.model[8 * (first + 1)..8 * end]
        });
        if stamps_ok && body_ok {
            return Ok(());
        }
        // Something is wrong: find the first word that is, and say what it holds.
        for (k, w) in words.iter().enumerate() {
            let (found, expected) = (u64::from_le_bytes(*w), word(k, n, seq, tag));
            if found != expected {
                bail!(
                    "message {seq} arrived damaged: word {k} of {n} is {found:#018x}, expected {expected:#018x}"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(buf: &[u8], seq: u64, tag: Tag) -> anyhow::Result<()> {
        Expected::new(buf.len()).check(buf, seq, tag)
    }

    #[test]
    fn a_filled_message_passes_its_own_check_only() {
        let mut buf = vec![0; 64];
        fill(&mut buf, 7, Tag::Request);
        check(&buf, 7, Tag::Request).unwrap();
        assert!(
            check(&buf, 8, Tag::Request).is_err(),
            "another sequence number"
        );
        assert!(check(&buf, 7, Tag::Reply).is_err(), "another direction");
        stamp(&mut buf, 7, Tag::Reply);
        check(&buf, 7, Tag::Reply).unwrap();
    }

    #[test]
    fn a_stamped_message_is_the_filled_one() {
        for size in [8, 16, 64, 4096, 4104, 3 * 4096, 1 << 20] {
            let (mut stamped, mut filled) = (vec![0; size], vec![0; size]);
            fill(&mut stamped, 1, Tag::Data);
            stamp(&mut stamped, 123_456, Tag::Reply);
            fill(&mut filled, 123_456, Tag::Reply);
            assert!(stamped == filled, "{size} bytes");
            check(&stamped, 123_456, Tag::Reply).unwrap();
        }
    }

    #[test]
    fn an_earlier_message_or_a_page_of_one_fails() {
        let mut now = vec![0; 3 * 4096];
        let mut before = vec![0; 3 * 4096];
        fill(&mut now, 9, Tag::Data);
        fill(&mut before, 8, Tag::Data);
        assert!(check(&before, 9, Tag::Data).is_err(), "a repeated message");
        // Its second page, from message 8: the page's stamp says so.
        now[4096..8192].copy_from_slice(&before[4096..8192]);
        let error = check(&now, 9, Tag::Data).unwrap_err().to_string();
        assert!(error.contains("word 512 of 1536"), "{error}");
        // Torn at the end: the last word is from message 8.
        fill(&mut now, 9, Tag::Data);
        now[3 * 4096 - 8..].copy_from_slice(&before[3 * 4096 - 8..]);
        assert!(check(&now, 9, Tag::Data).is_err(), "a torn message");
    }

    #[test]
    fn one_damaged_byte_fails_and_is_named() {
        let mut buf = vec![0; 4096];
        fill(&mut buf, 3, Tag::Data);
        buf[4000] ^= 1;
        let error = check(&buf, 3, Tag::Data).unwrap_err().to_string();
        assert!(
            error.starts_with("message 3 arrived damaged: word 500 of 512"),
            "{error}"
        );
    }

    #[test]
    fn a_message_shifted_by_a_word_fails() {
        let mut buf = vec![0; 128];
        fill(&mut buf, 5, Tag::Data);
        buf.copy_within(8..120, 16);
        assert!(check(&buf, 5, Tag::Data).is_err());
    }
}
