//! What a message holds, so that the receiver can check every byte of it.
//!
//! A message is a run of 64-bit words. Word 0 is the sequence number with a
//! tag in its top bits saying which way it goes (request, reply, or data of
//! a one-way stream); every other word `k` holds `k << 40 | seq`. A lost,
//! repeated, reordered, torn or shifted message, or one left over from an
//! earlier round, fails the check; only the right message passes.

use anyhow::bail;

/// Which way a message goes, kept in the top two bits of word 0.
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

/// Sequence numbers stay below 2^40, so that `k << 40 | seq` is unique.
pub const MAX_SEQ: u64 = 1 << 40;

/// The word `k` of body of message `seq`.
fn body_word(k: usize, seq: u64) -> u64 {
    ((k as u64) << 40) | seq
}

/// Writes message `seq` into `buf`, whose length is a multiple of 8.
pub fn fill(buf: &mut [u8], seq: u64, tag: Tag) {
    let (words, _) = buf.as_chunks_mut::<8>();
    for (k, word) in words.iter_mut().enumerate() {
        *word = body_word(k, seq).to_le_bytes();
    }
    set_tag(buf, seq, tag);
}

/// Rewrites word 0 only: how the child turns a request into its reply.
pub fn set_tag(buf: &mut [u8], seq: u64, tag: Tag) {
    if let Some(first) = buf.first_chunk_mut::<8>() {
        *first = (tag.bits() | seq).to_le_bytes();
    }
}

/// Checks that `buf` is exactly message `seq` with `tag`.
pub fn check(buf: &[u8], seq: u64, tag: Tag) -> anyhow::Result<()> {
    let (words, rest) = buf.as_chunks::<8>();
    if !rest.is_empty() {
        bail!(
            "message {seq}: {} bytes is not a whole number of words",
            buf.len()
        );
    }
    let Some((first, body)) = words.split_first() else {
        return Ok(()); // an empty message: nothing to check
    };
    // The fast path: one pass that the compiler turns into vector code.
    let differs = body.iter().enumerate().fold(0, |acc, (k, word)| {
        acc | (u64::from_le_bytes(*word) ^ body_word(k + 1, seq))
    });
    let head = u64::from_le_bytes(*first);
    if differs == 0 && head == tag.bits() | seq {
        return Ok(());
    }
    // Something is wrong: find the first word that is, and say what it holds.
    let expected = |k: usize| {
        if k == 0 {
            tag.bits() | seq
        } else {
            body_word(k, seq)
        }
    };
    for (k, word) in words.iter().enumerate() {
        let found = u64::from_le_bytes(*word);
        if found != expected(k) {
            bail!(
                "message {seq} arrived damaged: word {k} of {} is {found:#018x}, expected {:#018x}",
                words.len(),
                expected(k)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        set_tag(&mut buf, 7, Tag::Reply);
        check(&buf, 7, Tag::Reply).unwrap();
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
