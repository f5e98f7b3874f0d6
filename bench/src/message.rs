//! What a message holds, so that the receiver can check every byte of it
//! in one pass over it, at the speed the cache delivers it.
//!
//! A message is a run of 64-bit words. Most of them are its body: the word
//! [`BODY`], eight different bytes, the same in every message. The stamp
//! words, word 0, the first word of every 4 KiB page and the last word,
//! hold `tag | k << 40 | seq`: their position `k`, the sequence number,
//! and a tag in the top bits saying which way the message goes (request,
//! reply, or data of a one-way stream). So the writer prepares a message
//! once and then rewrites only its stamps (two words of a 4 KiB message),
//! and the reader compares the stamps, then folds the body with XOR and OR
//! against one constant: it reads the message once and no copy of it
//! (about half the memory traffic of a `memcmp` with a model message).
//!
//! What the check catches: a lost, repeated, reordered or stale message
//! (the stamps carry the sequence number and the direction), a torn one
//! (its first and last words, and each page, are stamped), one shifted by
//! any number of bytes (the last word would not be the last stamp, and a
//! shift inside a word changes [`BODY`]), and any byte that differs from
//! what was sent. What it cannot see is two body words trading places:
//! they are equal, so the bytes received are still the bytes sent.

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

/// Every body word: eight different bytes, with top bits that no stamp has.
pub const BODY: u64 = 0x0123_4567_89ab_cdef;

/// One stamp word in every page of this many words (4 KiB).
const PAGE_WORDS: usize = 512;

fn is_stamp(k: usize, words: usize) -> bool {
    k.is_multiple_of(PAGE_WORDS) || k + 1 == words
}

/// The positions of the stamp words in a message of `words` words.
fn stamps(words: usize) -> impl Iterator<Item = usize> {
    (0..words).step_by(PAGE_WORDS).chain(words.checked_sub(1))
}

/// Word `k` of a message of `words` words.
fn word(k: usize, words: usize, seq: u64, tag: Tag) -> u64 {
    if is_stamp(k, words) {
        tag.bits() | ((k as u64) << 40) | seq
    } else {
        BODY
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
    for k in stamps(n) {
        words[k] = word(k, n, seq, tag).to_le_bytes();
    }
}

/// What every message of one size must be, to check received ones against.
#[derive(Debug)]
pub struct Expected {
    size: usize,
}

impl Expected {
    pub fn new(size: usize) -> Self {
        Self { size }
    }

    /// Checks the stamps of `buf` only: that it is message `seq` with `tag`,
    /// whole at both ends and in each page. How the child checks a request
    /// whose body it sends straight back, for the parent's full check.
    pub fn check_stamps(&self, buf: &[u8], seq: u64, tag: Tag) -> anyhow::Result<()> {
        let (words, _) = buf.as_chunks::<8>();
        let n = words.len();
        if buf.len() == self.size
            && stamps(n).all(|k| u64::from_le_bytes(words[k]) == word(k, n, seq, tag))
        {
            return Ok(());
        }
        self.check(buf, seq, tag)
    }

    /// Checks that `buf` is exactly message `seq` with `tag`: its stamps,
    /// then every other word, in one pass.
    pub fn check(&self, buf: &[u8], seq: u64, tag: Tag) -> anyhow::Result<()> {
        let (words, rest) = buf.as_chunks::<8>();
        if !rest.is_empty() || buf.len() != self.size {
            bail!("message {seq}: {} bytes, expected {}", buf.len(), self.size);
        }
        let n = words.len();
        let stamps_ok = stamps(n).all(|k| u64::from_le_bytes(words[k]) == word(k, n, seq, tag));
        // Between two stamps, the body: words 1.. of each page, and of the
        // last page all but its last word.
        let body_ok = (0..n).step_by(PAGE_WORDS).all(|first| {
            let end = (first + PAGE_WORDS).min(n.saturating_sub(1)).max(first + 1);
            body_differs(&words[first + 1..end]) == 0
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

/// The bits in which `words` differ from [`BODY`]: 0 when they all are.
fn body_differs(words: &[[u8; 8]]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2, as checked just above.
        return unsafe { body_differs_avx2(words) };
    }
    fold(words)
}

/// [`fold`] compiled for AVX2: 32 bytes at a time instead of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn body_differs_avx2(words: &[[u8; 8]]) -> u64 {
    fold(words)
}

/// One pass that the compiler turns into vector code.
#[inline(always)]
fn fold(words: &[[u8; 8]]) -> u64 {
    words
        .iter()
        .fold(0, |acc, w| acc | (u64::from_le_bytes(*w) ^ BODY))
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
        // Two body words trading places: the same bytes, nothing to see.
        fill(&mut now, 9, Tag::Data);
        now.copy_within(8..16, 24);
        check(&now, 9, Tag::Data).unwrap();
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
    fn a_body_shifted_by_bytes_fails() {
        for shift in [1, 3, 7] {
            let mut buf = vec![0; 4096];
            fill(&mut buf, 5, Tag::Data);
            buf.copy_within(64..4000, 64 + shift);
            let error = check(&buf, 5, Tag::Data).unwrap_err().to_string();
            assert!(
                error.contains("arrived damaged: word 8 of 512"),
                "{shift}: {error}"
            );
        }
    }

    #[test]
    fn a_message_shifted_by_a_word_fails() {
        let mut buf = vec![0; 128];
        fill(&mut buf, 5, Tag::Data);
        buf.copy_within(8..120, 16);
        assert!(check(&buf, 5, Tag::Data).is_err());
    }
}
